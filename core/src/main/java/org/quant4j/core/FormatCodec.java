package org.quant4j.core;

/**
 * A quantize/dequantize pair for one {@link Format} (the shape of ggml-quants.c: every format is a
 * pair). {@link Quantizer} validates the input and dispatches here.
 */
public interface FormatCodec {
    /**
     * Quantizes a finite row-major {@code rows × cols} matrix (already validated: no NaN/Inf, group
     * size divides cols) with round-to-nearest on the spec's block scales.
     */
    QuantizedTensor quantize(float[] data, long[] shape, QuantSpec spec);

    /** Writes the dequantized values of {@code t} into {@code out} (length t.size()). */
    void dequantize(QuantizedTensor t, float[] out);
}
