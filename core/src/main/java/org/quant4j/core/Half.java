package org.quant4j.core;

/** IEEE 754 binary16 conversions (Java 17 has no Float.floatToFloat16), round-to-nearest-even, saturating to ±65504. */
public final class Half {
    public static final float MAX = 65504f;

    private Half() {}

    /** binary16 bits of {@code v}; values beyond ±65504 saturate to ±65504 (never Inf), NaN stays NaN. */
    public static int fromFloat(float v) {
        int x = Float.floatToRawIntBits(v);
        int sign = (x >>> 16) & 0x8000;
        if (Float.isNaN(v)) {
            return 0x7E00;
        }
        float a = Math.abs(v);
        if (a >= 65520f) { // rounds beyond the largest finite half
            return sign | 0x7BFF;
        }
        if (a < 6.1035156e-5f) { // subnormal half (or zero): quantum 2^-24; a·2^24 is exact, rint is half-even
            return sign | (int) Math.rint(a * 16777216f);
        }
        int ax = x & 0x7FFFFFFF;
        int e = (ax >>> 23) - 127 + 15;
        int mant = ax & 0x7FFFFF;
        int half = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return sign | Math.min(half, 0x7BFF);
    }

    public static float toFloat(int h) {
        int sign = (h & 0x8000) << 16;
        int e = (h >>> 10) & 0x1F;
        int m = h & 0x3FF;
        if (e == 0) {
            float v = m * 5.9604645e-8f; // 2^-24
            return (h & 0x8000) != 0 ? -v : v;
        }
        if (e == 31) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (m << 13));
        }
        return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (m << 13));
    }
}
