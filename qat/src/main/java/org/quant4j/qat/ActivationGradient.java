package org.quant4j.qat;

/** How activation grids are found in training (observed range or learned step) and the backward pass. */
public enum ActivationGradient {
    /** Straight-through estimator: {@code ∂q/∂x = 1} everywhere (Bengio et al. 2013, "Estimating or propagating gradients through stochastic neurons"). */
    STE,
    /**
     * Clipped STE: {@code ∂q/∂x = 1} where {@code round(x/s) + z} lies inside {@code [qmin, qmax]}, 0 where
     * the value was clamped (PyTorch's {@code fake_quantize_per_tensor_affine} backward; Jacob et al. 2018, sec. 3).
     */
    CLIPPED_STE,
    /**
     * Learned step size (Esser et al., ICLR 2020, eq. 1-5) instead of an observed range: the step is trained
     * with the LSQ gradient and gradient scale; clipped STE for the activation. Symmetric specs use the
     * signed grid, asymmetric ones the unsigned grid (no offset).
     */
    LSQ,
    /** LSQ with LSQ+'s learned offset (Bhalgat et al., CVPRW 2020) for asymmetric activations. */
    LSQ_PLUS
}
