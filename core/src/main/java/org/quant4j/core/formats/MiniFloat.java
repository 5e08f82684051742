package org.quant4j.core.formats;

/**
 * A small floating-point format (sign, E exponent bits, M mantissa bits): OCP FP8 E4M3 / E5M2 and
 * OCP MX FP4 E2M1. Encoding is round-to-nearest-even and saturating (to ±max; NaN is rejected).
 */
public final class MiniFloat {
    public static final MiniFloat E4M3 = null;
    public static final MiniFloat E5M2 = null;
    public static final MiniFloat E2M1 = null;

    private MiniFloat() {}

    /** The code (bit pattern in the low bits) of the representable value nearest to {@code v}. */
    public int encode(float v) {
        throw new UnsupportedOperationException("TODO: implement");
    }

    /** The value of a code. */
    public float decode(int code) {
        throw new UnsupportedOperationException("TODO: implement");
    }

    /** Largest finite magnitude (448 for E4M3, 57344 for E5M2, 6 for E2M1). */
    public float max() {
        throw new UnsupportedOperationException("TODO: implement");
    }
}
