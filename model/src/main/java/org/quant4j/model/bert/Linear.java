package org.quant4j.model.bert;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A dense layer {@code y = x Wᵀ + b} of the encoder. The weight is held {@code [out, in]} (PyTorch
 * layout; the ONNX export stores the MatMul operand {@code [in, out]}, transposed once at load) and
 * applied with one gemm that reads it transposed, so no copy is made per call.
 */
final class Linear {
    final LinearTarget target;
    /** {@code [out, in]}, float32, C order. Updated in place by {@link BertEncoder#setWeight}. */
    final INDArray weight;
    /** {@code [1, out]}. */
    final INDArray bias;

    Linear(LinearTarget target, INDArray weight, INDArray bias) {
        this.target = target;
        this.weight = weight;
        this.bias = bias;
    }

    /** {@code x [n, in] -> [n, out]}. */
    INDArray apply(INDArray x) {
        return apply(x, weight);
    }

    /** {@code x [n, in] -> [n, out]} with another weight {@code w [out, in]} and this layer's bias. */
    INDArray apply(INDArray x, INDArray w) {
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.rows(), target.outFeatures());
        Nd4j.gemm(x, w, y, false, true, 1.0, 0.0);
        y.addiRowVector(bias);
        return y;
    }
}
