package org.quant4j.ptq.gptq;

import org.quant4j.ptq.NativeLinearAlgebra;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The native scratch memory of one GPTQ solve: the damped Hessian's factor ({@code n×n}), the weights
 * in processing order ({@code rows×n}) and one block's errors ({@code blockSize×rows}), all flat
 * row-major floats. A {@link Gptq} keeps its workspace between solves and grows it when a layer needs
 * more, because fresh native memory costs page faults on first touch (about 0.3 s per 64 MiB on the
 * benchmark VM, more than a 4096² Cholesky) that layers of a model, quantized one after another, need
 * not pay again.
 */
final class GptqWorkspace implements AutoCloseable {
    private INDArray hessian;
    private INDArray weights;
    private INDArray errors;

    /** Makes the three buffers at least {@code n²}, {@code rows·n} and {@code blockSize·rows} floats. */
    void ensure(int rows, int n, int blockSize) {
        hessian = atLeast(hessian, (long) n * n);
        weights = atLeast(weights, (long) rows * n);
        errors = atLeast(errors, (long) blockSize * rows);
    }

    private static INDArray atLeast(INDArray a, long length) {
        if (a != null && a.length() >= length) {
            return a;
        }
        if (a != null) {
            a.close();
        }
        return Nd4j.createUninitializedDetached(DataType.FLOAT, Math.max(length, 1));
    }

    FloatBuffer hessian() {
        return hessian.data().asNioFloat();
    }

    FloatPointer hessianPointer() {
        return NativeLinearAlgebra.pointer(hessian);
    }

    FloatBuffer weights() {
        return weights.data().asNioFloat();
    }

    FloatPointer weightsPointer() {
        return NativeLinearAlgebra.pointer(weights);
    }

    FloatBuffer errors() {
        return errors.data().asNioFloat();
    }

    FloatPointer errorsPointer() {
        return NativeLinearAlgebra.pointer(errors);
    }

    /** Native bytes held. */
    long bytes() {
        return 4 * ((hessian == null ? 0 : hessian.length()) + (weights == null ? 0 : weights.length())
                + (errors == null ? 0 : errors.length()));
    }

    @Override
    public void close() {
        for (INDArray a : new INDArray[] {hessian, weights, errors}) {
            if (a != null) {
                a.close();
            }
        }
        hessian = null;
        weights = null;
        errors = null;
    }
}
