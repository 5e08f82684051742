package org.quant4j.qat;

/**
 * Affine per-tensor activation quantization parameters derived from an observed range
 * (Jacob et al. 2018, eq. 1 and sec. 3.1): the range is widened to include 0 so that 0 is exact,
 * then {@code s = (max - min) / (qmax - qmin)} and {@code z = clamp(qmin - round(min / s), qmin, qmax)}.
 * Unsigned {@code [0, 2^b - 1]} when asymmetric; symmetric uses {@code [-(2^(b-1)-1), 2^(b-1)-1]},
 * {@code s = max(|min|, |max|) / (2^(b-1)-1)}, {@code z = 0}.
 */
record ActivationRange(float scale, float zero, int qmin, int qmax) {
    /** Smallest scale: a constant-zero tensor still gets a valid (if useless) grid. */
    private static final float MIN_SCALE = 1e-8f;

    static ActivationRange of(float min, float max, int bits, boolean symmetric) {
        float lo = Math.min(min, 0f);
        float hi = Math.max(max, 0f);
        if (symmetric) {
            int qmax = (1 << (bits - 1)) - 1;
            float scale = Math.max(Math.max(-lo, hi) / qmax, MIN_SCALE);
            return new ActivationRange(scale, 0f, -qmax, qmax);
        }
        int qmax = (1 << bits) - 1;
        float scale = Math.max((hi - lo) / qmax, MIN_SCALE);
        float zero = Math.max(0, Math.min(qmax, Math.round(-lo / scale)));
        return new ActivationRange(scale, zero, 0, qmax);
    }
}
