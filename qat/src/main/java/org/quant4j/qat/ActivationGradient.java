package org.quant4j.qat;

/** The backward pass of activation fake quantization. */
public enum ActivationGradient {
    /** Straight-through estimator: {@code ∂q/∂x = 1} everywhere (Bengio et al. 2013, "Estimating or propagating gradients through stochastic neurons"). */
    STE,
    /**
     * Clipped STE: {@code ∂q/∂x = 1} where {@code round(x/s) + z} lies inside {@code [qmin, qmax]}, 0 where
     * the value was clamped (PyTorch's {@code fake_quantize_per_tensor_affine} backward; Jacob et al. 2018, sec. 3).
     */
    CLIPPED_STE
}
