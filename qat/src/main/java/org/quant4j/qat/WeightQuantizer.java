package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Fake quantization of weights: {@code q(W) = dequantize(quantize(W))} computed on the whole tensor
 * with a handful of ND4J ops. The input is a {@code [blocks, blockLength]} matrix whose rows are the
 * blocks that share a scale (see {@link WeightBlocks}); the result has the same shape and is a new array.
 */
public interface WeightQuantizer {
    INDArray fakeQuantize(INDArray blocks);
}
