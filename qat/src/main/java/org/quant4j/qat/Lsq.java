package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;

/**
 * The formulas of Learned Step Size Quantization (Esser et al., ICLR 2020, "Learned Step Size
 * Quantization") and its learned offset (Bhalgat et al., CVPRW 2020, "LSQ+"), on grids
 * {@code v̂ = clamp(⌊(v - β)/s⌉, -Qn, Qp) · s + β} (β = 0 in LSQ).
 */
final class Lsq {
    private Lsq() {}

    /** Sec. 2.2: the step's gradient is scaled by {@code g = 1/sqrt(N · Qp)}, N the number of values sharing the step. */
    static double gradientScale(long n, float qp) {
        return 1.0 / Math.sqrt((double) n * qp);
    }

    /** Sec. 2.1 (below eq. 5): the step is initialised to {@code 2⟨|v|⟩ / sqrt(Qp)}. */
    static float initialStep(double meanAbs, float qp) {
        return (float) (2.0 * meanAbs / Math.sqrt(qp));
    }

    /**
     * The step as the forward pass uses it: rounded to its storage encoding (a straight-through rounding
     * for the step's gradient), and never 0 (the smallest positive value of the encoding at least).
     */
    static float storedStep(float step, NumberEncoding encoding) {
        float r = NumberEncodings.round(encoding, step);
        return r > 0f ? r : NumberEncodings.roundUp(encoding, Float.MIN_NORMAL);
    }

    /**
     * Eq. 3, {@code ∂v̂/∂s} as a function of the coordinate {@code u = (v - β)/s}: {@code -Qn} where
     * {@code u <= -Qn}, {@code Qp} where {@code u >= Qp}, else {@code ⌊u⌉ - u}. Computed as
     * {@code ⌊c⌉ - inside·c} with {@code c = clamp(u, -Qn, Qp)}; a new array.
     *
     * @param inside {@link ClippingMask#strictlyInside} of {@code u}
     */
    static INDArray stepDerivative(INDArray u, INDArray inside, float low, float high) {
        INDArray c = IntFakeQuant.clamp(u.dup(), low, high);
        INDArray rounded = IntFakeQuant.rint(c.dup());
        return rounded.subi(c.muli(inside));
    }
}
