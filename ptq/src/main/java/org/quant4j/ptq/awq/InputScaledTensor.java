package org.quant4j.ptq.awq;

import org.quant4j.model.AwqFolding;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizedTensor;

/**
 * A quantized weight that expects its input divided by per-input-channel scales: {@code tensor} stores
 * {@code W·diag(s)} (its {@code dequantize()} approximates {@code W·diag(s)}, <em>not</em> {@code W}), so
 * the layer computes {@code y = (x / s)·dequantize(tensor)ᵀ}. The division is free once folded into the
 * op that produces {@code x} ({@link AwqFolding}); a caller that cannot fold uses {@link #effectiveWeight()},
 * the equivalent float weight in the original input domain.
 *
 * @param tensor      the stored weight, {@code [out, in]}
 * @param inputScales {@code s}, one per input channel, all {@code > 0} (shared, do not modify)
 */
public record InputScaledTensor(QuantizedTensor tensor, float[] inputScales) {
    public InputScaledTensor {
        if (inputScales.length != tensor.cols()) {
            throw new InvalidTensorException("tensor " + Arrays.toString(tensor.shape()) + " has " + tensor.cols()
                    + " input channels but " + inputScales.length + " input scales were given");
        }
        for (int c = 0; c < inputScales.length; c++) {
            if (!(inputScales[c] > 0) || Float.isInfinite(inputScales[c])) {
                throw new InvalidTensorException("input scale " + c + " is " + inputScales[c]
                        + "; scales must be finite and > 0");
            }
        }
    }

    /** {@code dequantize(tensor)·diag(1/s)}, row-major {@code [out, in]}: the weight the float model sees. */
    public float[] effectiveWeight() {
        float[] w = tensor.dequantizeToArray();
        int cols = inputScales.length;
        for (int i = 0; i < w.length; i++) {
            w[i] /= inputScales[i % cols];
        }
        return w;
    }

    /** {@link #effectiveWeight()} as a FLOAT INDArray of the tensor's shape. */
    public INDArray effectiveWeightArray() {
        return Nd4j.create(effectiveWeight(), tensor.shape(), DataType.FLOAT);
    }
}
