package org.quant4j.core.formats;

/**
 * The 8-bit signed dynamic data type of bitsandbytes, {@code create_dynamic_map(signed=True,
 * max_exponent_bits=7, total_bits=8)} (Dettmers 2016, "8-Bit Approximations for Parallelism in Deep
 * Learning"; used by QLoRA's double quantization): for {@code i = 0..6}, the {@code 2^i} midpoints of
 * {@code linspace(0.1, 1, 2^i + 1)} times {@code 10^(i-6)}, with both signs, plus 0 and 1 — 256 values
 * in [-0.99297, 1], sorted, so code 127 is 0 and code 255 is 1.
 *
 * <p>Built in float32 as torch does: {@code linspace} by its scalar formula ({@code start + step·k} for
 * the first half, {@code end - step·(steps-1-k)} for the second, {@code step = (end - start)/(steps-1)}),
 * midpoints {@code (b_k + b_{k+1}) / 2}, the decade factor rounded to float. (torch's SIMD path can
 * differ in the last bit for some entries; quant4j always uses this table, so its files are
 * self-consistent.)
 *
 * <p>Encoding picks the nearest value with bitsandbytes' midpoint rule {@code (lower + upper) * 0.5f}
 * ({@code dQuantize}): above the midpoint goes up, on it stays at the lower code.
 */
public final class DynamicMap implements ElementCodebook {
    /** The signed map. */
    public static final DynamicMap SIGNED = new DynamicMap();

    /** Code of the value 0. */
    public static final int ZERO_CODE = 127;

    private final float[] values = new float[256];
    private final float[] midpoints = new float[255];

    private DynamicMap() {
        int n = 0;
        for (int i = 0; i < 7; i++) {
            float[] boundaries = linspace(0.1f, 1f, (1 << i) + 1);
            float decade = (float) Math.pow(10, i - 6);
            for (int k = 0; k + 1 < boundaries.length; k++) {
                float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
                values[n++] = decade * mean;
                values[n++] = -(decade * mean);
            }
        }
        values[n++] = 0f;
        values[n++] = 1f;
        if (n != 256) {
            throw new IllegalStateException("dynamic map has " + n + " values");
        }
        java.util.Arrays.sort(values);
        for (int k = 0; k < 255; k++) {
            if (!(values[k] < values[k + 1])) {
                throw new IllegalStateException("dynamic map is not strictly increasing at " + k);
            }
            midpoints[k] = (values[k] + values[k + 1]) * 0.5f;
        }
    }

    private static float[] linspace(float start, float end, int steps) {
        float[] out = new float[steps];
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        for (int k = 0; k < steps; k++) {
            out[k] = k < halfway ? start + step * k : end - step * (steps - k - 1);
        }
        return out;
    }

    /** The code of the nearest value: the number of midpoints {@code v} is strictly above (binary search). */
    @Override
    public int encode(float v) {
        int lo = 0;
        int hi = 255;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (v > midpoints[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    @Override
    public float decode(int code) {
        return values[code & 0xFF];
    }

    /** The 256 values, ascending (a copy). */
    public float[] values() {
        return values.clone();
    }

    /**
     * The largest distance from a value in [-1, 1] to its code's value: half the widest gap, or the
     * distance from -1 to the smallest value, whichever is larger.
     */
    public float maxRoundingError() {
        float worst = 1f + values[0];
        for (int k = 0; k < 255; k++) {
            worst = Math.max(worst, (values[k + 1] - values[k]) / 2);
        }
        return worst;
    }
}
