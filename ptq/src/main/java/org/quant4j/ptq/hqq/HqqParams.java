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
 * @param optimizeScale also refit the scale in the second sub-problem (least squares in {@code (s, z)}),
 *                      the variant the paper's formulation allows; false keeps the min-max scale (the reference)
 */
public record HqqParams(double lpNorm, double beta, double kappa, int iterations, boolean earlyStop,
                        boolean optimizeScale) {
    /** p = 0.7, β = 10, κ = 1.01, 20 iterations, early stop, zero point only. */
    public static final HqqParams DEFAULTS = new HqqParams(0.7, 10, 1.01, 20, true, false);

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
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, optimizeScale);
    }

    public HqqParams withEarlyStop(boolean earlyStop) {
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, optimizeScale);
    }

    public HqqParams withOptimizeScale(boolean optimizeScale) {
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, optimizeScale);
    }

    public HqqParams withLpNorm(double lpNorm) {
        return new HqqParams(lpNorm, beta, kappa, iterations, earlyStop, optimizeScale);
    }
}
