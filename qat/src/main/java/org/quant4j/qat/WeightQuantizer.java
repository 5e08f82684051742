package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantizedTensor;

/**
 * Fake quantization of one layer's weight and its conversion to real codes. Both work on core's
 * {@code [out, in]} matrix (see {@link WeightLayout}); {@link #quantize} uses exactly the scales (and zero
 * points) that the last {@link #fakeQuantize} of the same weight used, so
 * {@code quantize(w).dequantize()} equals {@code fakeQuantize(w)} bit for bit. Serializable with its state (LSQ steps);
 * scratch buffers are transient.
 */
interface WeightQuantizer extends java.io.Serializable {
    /** {@code dequantize(quantize(w))} of an {@code [out, in]} matrix (not modified); a new array of its shape. */
    INDArray fakeQuantize(INDArray outIn);

    /**
     * Whether {@link #fakeQuantize} itself throws {@link org.quant4j.core.InvalidTensorException} for a weight
     * holding NaN or an infinity (then the caller needs no separate pass to detect them).
     */
    default boolean refusesNonFinite() {
        return false;
    }

    /**
     * The real quantized tensor of {@code weight} ({@code [out, in...]}, any rank, viewed as {@code shape[0]} rows).
     *
     * @param name names the tensor in errors
     */
    QuantizedTensor quantize(String name, INDArray weight);
}
