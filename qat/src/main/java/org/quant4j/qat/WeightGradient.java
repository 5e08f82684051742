package org.quant4j.qat;

/** How weights are fake-quantized in training and what their backward pass is. */
public enum WeightGradient {
    /**
     * Round-to-nearest with scales fitted to each block's range (core's {@code IntGrid}, or the format's codec),
     * straight-through estimator {@code ∂ŵ/∂w = 1} (Bengio et al. 2013).
     */
    STE,
    /**
     * Learned step size (Esser et al., ICLR 2020): one trainable step per block with the LSQ gradient and gradient
     * scale, clipped STE for the weight. Symmetric INT specs only.
     */
    LSQ
}
