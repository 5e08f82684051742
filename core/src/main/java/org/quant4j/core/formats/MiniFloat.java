package org.quant4j.core.formats;

/**
 * A small binary floating-point format: one sign bit (the top bit of the code), {@code E} exponent
 * bits with a bias, {@code M} mantissa bits, subnormals when the exponent field is 0.
 *
 * <ul>
 *   <li>{@link #E4M3}, {@link #E5M2}: OCP 8-bit Floating Point Specification (OFP8) rev. 1.0. E4M3 has
 *       bias 7, no infinities and only {@code S.1111.111} as NaN (max 448, min subnormal 2^-9); E5M2 is
 *       IEEE-like with bias 15, {@code S.11111.00} = ±Inf and {@code S.11111.xx} (xx != 0) = NaN
 *       (max 57344, min subnormal 2^-16).</li>
 *   <li>{@link #E2M1}: the FP4 element type of the OCP Microscaling (MX) Formats Specification v1.0:
 *       bias 1, no Inf/NaN, values 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives.</li>
 * </ul>
 *
 * <p>{@link #encode} rounds to nearest, ties to even mantissa, and saturates: magnitudes beyond
 * {@link #max()} (including ±Inf) become ±max, the "saturation" conversion mode of OFP8. NaN input is
 * rejected. -0 encodes to the negative-zero code. Encoding is pure bit arithmetic (no tables, no
 * allocation); decoding reads a table built from the format's definition.
 */
public final class MiniFloat implements ElementCodebook {
    /** 2^23: adding it to a value in [0, 2^23) rounds the value to an integer, ties to even. */
    private static final float ROUND_TO_INT = 8388608f;
    private static final int ROUND_TO_INT_BITS = Float.floatToRawIntBits(ROUND_TO_INT);

    /** OCP OFP8 E4M3: bias 7, no infinities, S.1111.111 is NaN, max 448, min subnormal 2^-9. */
    public static final MiniFloat E4M3 = new MiniFloat("E4M3", 4, 3, 7, Specials.ALL_ONES_IS_NAN);
    /** OCP OFP8 E5M2: bias 15, IEEE-like (Inf and NaN at exponent 31), max 57344, min subnormal 2^-16. */
    public static final MiniFloat E5M2 = new MiniFloat("E5M2", 5, 2, 15, Specials.IEEE);
    /** OCP MX v1.0 FP4 E2M1: bias 1, no Inf/NaN, max 6, min subnormal 0.5. */
    public static final MiniFloat E2M1 = new MiniFloat("E2M1", 2, 1, 1, Specials.NONE);

    private enum Specials { NONE, ALL_ONES_IS_NAN, IEEE }

    private final String name;
    private final int exponentBits;
    private final int mantissaBits;
    private final int bias;
    private final int signShift;
    private final float[] values;
    private final float max;
    private final int maxCode;
    private final float minNormal;
    private final int minNormalBits;
    private final int maxBits;
    /** True when scaled data often falls below minNormal (E2M1: below 1), so a branch would mispredict. */
    private final boolean subnormalsCommon;
    /** 2^(M - emin): multiplies a subnormal magnitude into units of the subnormal quantum. */
    private final float subnormalToQuanta;
    /** Float mantissa bits dropped when rounding to M bits. */
    private final int dropBits;
    private final int roundingBias;
    /** (127 - bias) << M: the difference between float and format exponent fields, at mantissa position. */
    private final int rebias;

    private MiniFloat(String name, int exponentBits, int mantissaBits, int bias, Specials specials) {
        this.name = name;
        this.exponentBits = exponentBits;
        this.mantissaBits = mantissaBits;
        this.bias = bias;
        this.signShift = exponentBits + mantissaBits;
        this.values = buildTable(exponentBits, mantissaBits, bias, specials);
        int best = 0;
        for (int c = 0; c < (1 << signShift); c++) {
            if (Float.isFinite(values[c]) && values[c] > values[best]) {
                best = c;
            }
        }
        this.maxCode = best;
        this.max = values[best];
        this.minNormal = Math.scalb(1f, 1 - bias);
        this.minNormalBits = Float.floatToRawIntBits(minNormal);
        this.maxBits = Float.floatToRawIntBits(max);
        this.subnormalsCommon = mantissaBits + exponentBits <= 3;
        this.subnormalToQuanta = Math.scalb(1f, mantissaBits - (1 - bias));
        this.dropBits = 23 - mantissaBits;
        this.roundingBias = (1 << (dropBits - 1)) - 1;
        this.rebias = (127 - bias) << mantissaBits;
    }

    /** Values of all codes from the definition: (-1)^S · 2^(e - bias) · (1 + m/2^M), subnormal 2^(1 - bias) · m/2^M. */
    private static float[] buildTable(int e, int m, int bias, Specials specials) {
        int magnitudes = 1 << (e + m);
        float[] t = new float[2 * magnitudes];
        int topExponent = (1 << e) - 1;
        int mantissaMask = (1 << m) - 1;
        for (int c = 0; c < magnitudes; c++) {
            int exp = c >>> m;
            int man = c & mantissaMask;
            float v;
            if (specials == Specials.ALL_ONES_IS_NAN && exp == topExponent && man == mantissaMask) {
                v = Float.NaN;
            } else if (specials == Specials.IEEE && exp == topExponent) {
                v = man == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
            } else if (exp == 0) {
                v = Math.scalb((float) man, 1 - bias - m);
            } else {
                v = Math.scalb((float) ((1 << m) + man), exp - bias - m);
            }
            t[c] = v;
            t[c + magnitudes] = -v;
        }
        return t;
    }

    /**
     * The code (in the low {@code 1 + E + M} bits) of the representable value nearest to {@code v}:
     * round to nearest, ties to even mantissa, ±max beyond the range (±Inf included).
     *
     * @throws IllegalArgumentException for NaN (callers validate their input first)
     */
    @Override
    public int encode(float v) {
        if (v != v) {
            throw new IllegalArgumentException("NaN cannot be encoded as " + name);
        }
        int bits = Float.floatToRawIntBits(v);
        int sign = (bits >>> 31) << signShift;
        // |v| clamped to max: for non-negative floats the bit patterns order like the values (Inf too)
        int magnitude = Math.min(bits & 0x7FFFFFFF, maxBits);
        // Normal range: round the float mantissa to M bits (half-even); a carry moves into the exponent.
        int normal = ((magnitude + roundingBias + ((magnitude >>> dropBits) & 1)) >>> dropBits) - rebias;
        if (subnormalsCommon) {
            // E2M1 data straddles minNormal = 1 unpredictably: select by a mask, without a branch
            int isSubnormal = (magnitude - minNormalBits) >> 31; // all ones below minNormal
            return sign | (subnormalCode(magnitude) & isSubnormal) | (normal & ~isSubnormal);
        }
        return sign | (magnitude < minNormalBits ? subnormalCode(magnitude) : normal);
    }

    /** Subnormal range: the number of quanta, rounded half-even by the float adder. */
    private int subnormalCode(int magnitude) {
        return Float.floatToRawIntBits(Float.intBitsToFloat(magnitude) * subnormalToQuanta + ROUND_TO_INT)
                - ROUND_TO_INT_BITS;
    }

    /** The value of a code (its low {@code 1 + E + M} bits): NaN or ±Inf for the special codes. */
    @Override
    public float decode(int code) {
        return values[code & (values.length - 1)];
    }

    /** Largest finite magnitude (448 for E4M3, 57344 for E5M2, 6 for E2M1). */
    public float max() {
        return max;
    }

    /** Code of +{@link #max()}. */
    public int maxCode() {
        return maxCode;
    }

    /** Exponent of the largest binade, floor(log2(max)): 8, 15 and 2 (the MX spec's emax_elem). */
    public int emax() {
        return Math.getExponent(max);
    }

    /** Smallest positive (subnormal) value: 2^(1 - bias - M). */
    public float minSubnormal() {
        return values[1];
    }

    /** Smallest positive normal value: 2^(1 - bias). */
    public float minNormal() {
        return minNormal;
    }

    public int exponentBits() {
        return exponentBits;
    }

    public int mantissaBits() {
        return mantissaBits;
    }

    public int bias() {
        return bias;
    }

    /** Number of codes, 2^(1 + E + M). */
    public int codeCount() {
        return values.length;
    }

    /** Code bits: 8 for the FP8 formats, 4 for E2M1. */
    public int bits() {
        return 1 + exponentBits + mantissaBits;
    }

    @Override
    public String toString() {
        return name;
    }
}
