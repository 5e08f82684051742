package org.quant4j.core.formats;

/**
 * Brute-force references the fast code is checked against: nearest representable value by a scan
 * of all codes, and the error an element may have after block-scaled quantization.
 */
final class Reference {
    private Reference() {}

    /**
     * The finite code of {@code f} nearest to {@code v} among codes of the same sign as {@code v}
     * (so -0 and tiny negatives keep their sign), ties to the even code (even mantissa); beyond the
     * range the nearest finite value is ±max, i.e. saturation.
     */
    static int nearestMiniFloat(MiniFloat f, float v) {
        int signBit = f.codeCount() / 2;
        int base = (Float.floatToRawIntBits(v) < 0) ? signBit : 0;
        double a = Math.abs((double) v);
        if (a >= f.max()) { // saturation (and no double cancellation for huge v)
            return base | f.maxCode();
        }
        int best = -1;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (int c = base; c < base + signBit; c++) {
            float value = f.decode(c);
            if (!Float.isFinite(value)) {
                continue;
            }
            double d = Math.abs(Math.abs((double) value) - a);
            if (d < bestDistance || (d == bestDistance && (c & 1) == 0)) {
                best = c;
                bestDistance = d;
            }
        }
        return best;
    }

    /** The index of the nearest of ascending {@code values}; on a tie the lower index. */
    static int nearestIndex(float[] values, float v) {
        int best = 0;
        for (int c = 1; c < values.length; c++) {
            if (Math.abs((double) values[c] - v) < Math.abs((double) values[best] - v)) {
                best = c;
            }
        }
        return best;
    }

    /**
     * Largest error of {@code x} quantized to {@code f} with divisor {@code d}: half a step at
     * {@code |x/d|} (relative 2^-(M+1), at least half the subnormal quantum) inside the range, the
     * saturation {@code |x| - max·d} beyond it; plus float rounding of the division and of the
     * dequantization products.
     */
    static double miniFloatBound(MiniFloat f, double x, double d, double dequantized) {
        double y = Math.abs(x / d);
        double core = y <= f.max()
                ? d * Math.max(f.minSubnormal() / 2.0, y * Math.scalb(1.0, -(f.mantissaBits() + 1)))
                : (y - f.max()) * d;
        return core + slack(x, dequantized);
    }

    /** Float rounding of a few operations on values of these magnitudes, and of subnormal results. */
    static double slack(double x, double dequantized) {
        return 4 * Math.scalb(1.0, -24) * (Math.abs(x) + Math.abs(dequantized)) + 4 * (double) Float.MIN_VALUE;
    }
}
