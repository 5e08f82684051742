package org.quant4j.ptq.hqq;

import org.quant4j.core.InvalidSpecException;

/**
 * Settings of the HQQ proximal solver (Badri &amp; Shaji 2023, "Half-Quadratic Quantization of Large
 * Machine Learning Models"); {@link #DEFAULTS} are the reference's {@code opt_params} of
 * {@code optimize_weights_proximal_legacy} in mobiusml/hqq {@code hqq/core/optimize.py}.
 *
 * @param lpNorm        p of the sparsity-promoting loss {@code φ(W_e) = ‖W_e‖_p^p}, in (0, 1] (0.7)
 * @param beta          initial weight β of the half-quadratic coupling term (10)
 * @param kappa         growth of β per iteration, {@code β ← κβ}, at least 1 (1.01)
 * @param iterations    maximum number of iterates evaluated (20)
 * @param earlyStop     stop at the first iterate whose error {@code mean|W − W_r|} does not decrease
 *                      (the reference's behaviour); false runs all iterations
 * @param keepBest      return the evaluated iterate with the lowest error (the reference's
 *                      {@code optimize_weights_proximal_v2} with {@code early_stop}); false returns what the
 *                      reference's default {@code optimize_weights_proximal_legacy} returns: the zero point updated
 *                      from the last evaluated iterate (the update computed in the iteration that stopped the loop,
 *                      or after the last one)
 * @param optimizeScale also refit the scale in the second sub-problem (least squares in {@code (s, z)}),
 *                      the variant the paper's formulation allows; false keeps the min-max scale (the reference)
 */
public record HqqParams(double lpNorm, double beta, double kappa, int iterations, boolean earlyStop,
                        boolean keepBest, boolean optimizeScale) {
    /** p = 0.7, β = 10, κ = 1.01, 20 iterations, early stop, the legacy solver's returned zero point, zero point only. */
    public static final HqqParams DEFAULTS = new HqqParams(0.7, 10, 1.01, 20, true, false, false);

    public HqqParams {
        if (!(lpNorm > 0 && lpNorm <= 1)) {
            throw new InvalidSpecException("HQQ lp-norm p must be in (0, 1], got " + lpNorm);
        }
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw new InvalidSpecException("HQQ beta must be a finite positive number, got " + beta);
        }
        if (!(kappa >= 1) || Double.isInfinite(kappa)) {
            throw new InvalidSpecException("HQQ kappa must be a finite number >= 1, got " + kappa);
        }
        if (iterations < 1) {
            throw new InvalidSpecException("HQQ needs at least one iteration, got " + iterations);
        }
    }

    public HqqParams withIterations(int iterations) {
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, keepBest, optimizeScale);
    }

    public HqqParams withEarlyStop(boolean earlyStop) {
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, keepBest, optimizeScale);
    }

    public HqqParams withKeepBest(boolean keepBest) {
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, keepBest, optimizeScale);
    }

    public HqqParams withOptimizeScale(boolean optimizeScale) {
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, keepBest, optimizeScale);
    }

    public HqqParams withLpNorm(double lpNorm) {
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, keepBest, optimizeScale);
    }
}
