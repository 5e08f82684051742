package org.quant4j.core.formats;

/**
 * The values one element code can stand for: {@link MiniFloat} formats and the {@link Nf4Codebook}.
 * The block kernels ({@link BlockCodes}) are written once against this pair.
 */
interface ElementCodebook {
    /** The code of the representable value nearest to {@code v} (saturating; never called with NaN). */
    int encode(float v);

    /** The value of a code. */
    float decode(int code);
}
