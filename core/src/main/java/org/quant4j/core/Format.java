package org.quant4j.core;

/**
 * The element format of a quantized tensor: which values one code can stand for.
 * Scales (and zero points) are per {@link Granularity} block and described by {@link QuantSpec}.
 */
public enum Format {
    /** Uniform integer grid of 2..8 bits, symmetric (signed, no zero point) or asymmetric (zero point). */
    INT,
    /**
     * Ternary {-1, 0, +1} times one scale per block; 5 codes per byte. Quantized with BitNet b1.58's absmean scale
     * (Ma et al. 2024, eq. 1-3) or TWN's threshold and scale ({@link TernaryScale}).
     */
    TERNARY,
    /** 4-bit NormalFloat: the 16-value NF4 codebook of QLoRA (Dettmers et al. 2023, sec. 3) / bitsandbytes. */
    NF4,
    /** OCP 8-bit floating point E4M3 (bias 7, no infinities, max 448), saturating, round-to-nearest-even. */
    FP8_E4M3,
    /** OCP 8-bit floating point E5M2 (bias 15, IEEE-like, max 57344), saturating, round-to-nearest-even. */
    FP8_E5M2,
    /** OCP MX 4-bit floating point E2M1 (values 0, 0.5, 1, 1.5, 2, 3, 4, 6 and negatives), with block scales. */
    FP4_E2M1;

    /** Bits one code occupies in the packed stream; ternary packs 5 codes in 8 bits (1.6). */
    public double storageBitsPerCode(int intBits) {
        return switch (this) {
            case INT -> intBits;
            case TERNARY -> 8.0 / 5.0;
            case NF4, FP4_E2M1 -> 4;
            case FP8_E4M3, FP8_E5M2 -> 8;
        };
    }
}
