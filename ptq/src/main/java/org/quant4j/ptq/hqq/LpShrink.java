package org.quant4j.ptq.hqq;

/**
 * HQQ's shrinkage operator {@code shrink_lp_op} (Badri &amp; Shaji 2023, first sub-problem of the
 * half-quadratic splitting): the generalized soft-thresholding
 * <pre>
 *   shrink_lp(x, β) = sign(x) · relu(|x| − |x|^(p−1) / β)
 * </pre>
 * which solves {@code W_e ← argmin φ(W_e) + β/2 ‖W_e − x‖²} for {@code φ = ‖·‖_p^p} approximately
 * (exactly, soft-thresholding by 1/β, when p = 1).
 *
 * <p>The bracket is positive exactly when {@code |x|^(2−p) > 1/β}, i.e. above the threshold
 * {@code τ = β^(−1/(2−p))}; below it the result is 0 without evaluating the power, which keeps the
 * operator cheap where it matters (at LLM weight magnitudes nearly every residual is below τ).
 */
public final class LpShrink {
    private final double pMinusOne;
    private final double invBeta;
    private final float threshold;

    public LpShrink(double p, double beta) {
        this.pMinusOne = p - 1;
        this.invBeta = 1 / beta;
        this.threshold = (float) Math.pow(beta, -1 / (2 - p));
    }

    /** {@code τ = β^(−1/(2−p))}: {@link #apply} is 0 for {@code |x| <= τ}. */
    public float threshold() {
        return threshold;
    }

    /** {@code sign(x) · max(0, |x| − |x|^(p−1)/β)}, evaluated in double and rounded to float. */
    public float apply(float x) {
        float a = Math.abs(x);
        if (!(a > threshold)) {
            return 0f;
        }
        double shrunk = a - (pMinusOne == 0 ? invBeta : Math.pow(a, pMinusOne) * invBeta);
        return shrunk <= 0 ? 0f : Math.copySign((float) shrunk, x);
    }
}
