package org.quant4j.model;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;

/**
 * What a model file holds for one quantized target (of a DL4J network or a BERT encoder), and the float weight the
 * network gets from it: an INT/FP grid ({@link QuantizedTensor}: RTN, GPTQ, HQQ, AWQ), CLAQ's per-column codebooks
 * ({@link ClaqTensor}), or either of them expecting its input divided by per-input-channel scales (AWQ scales
 * that could not be folded into the op before the layer), stored as the fp32 tensor
 * {@code <target>/input_scale}. Weights are {@code [out, in...]}.
 */
public sealed interface StoredWeight {
    /** Suffix of a target's input-scale tensor. */
    String INPUT_SCALE_SUFFIX = "/input_scale";

    /** The weight's {@code [out, in...]} shape. */
    long[] shape();

    /** Bytes written for this target (codes, scales, codebooks, outliers, input scales). */
    long storageBytes();

    /** The float weight the network gets, {@code [out, in...]} row-major. */
    float[] effectiveWeight();

    /** Adds the target's tensors to {@code model} under {@code name}. */
    void addTo(QuantizedModel.Builder model, String name);

    /** Elements of the weight. */
    default long size() {
        return Arrays.stream(shape()).reduce(1, Math::multiplyExact);
    }

    /** Stored bits per weight, everything written for the target included. */
    default double bitsPerWeight() {
        return 8.0 * storageBytes() / size();
    }

    /** {@link #effectiveWeight()} as a FLOAT array of {@link #shape()}. */
    default INDArray effectiveWeightArray() {
        return Nd4j.create(effectiveWeight(), shape(), DataType.FLOAT);
    }

    /** A weight on a {@link QuantizedTensor}'s grid. */
    record Grid(QuantizedTensor tensor) implements StoredWeight {
        @Override public long[] shape() { return tensor.shape(); }
        @Override public long storageBytes() { return tensor.storageBytes(); }
        @Override public float[] effectiveWeight() { return tensor.dequantizeToArray(); }
        @Override public void addTo(QuantizedModel.Builder model, String name) { model.addQuantized(name, tensor); }
    }

    /** CLAQ's per-column codebooks, widths and outliers. */
    record Codebooks(ClaqTensor tensor) implements StoredWeight {
        @Override public long[] shape() { return tensor.shape(); }
        @Override public long storageBytes() { return tensor.storageBytes(); }
        @Override public float[] effectiveWeight() { return tensor.dequantizeToArray(); }
        @Override public void addTo(QuantizedModel.Builder model, String name) { model.addClaq(name, tensor); }
    }

    /**
     * {@code stored} approximates {@code W·diag(s)} for scales {@code s}, one per input channel ({@code shape[1]}
     * values; a convolution's {@code kh·kw} columns of a channel share its scale): the effective weight is
     * {@code dequantize(stored)·diag(1/s)}. Stored as {@code <name>/input_scale}, fp32.
     */
    record InputScaled(StoredWeight stored, float[] inputScales) implements StoredWeight {
        public InputScaled {
            long[] shape = stored.shape();
            if (shape.length < 2 || inputScales.length != shape[1]) {
                throw new InvalidTensorException("input scales: " + inputScales.length + " values for a weight of shape "
                        + Arrays.toString(shape) + " (one per input channel, shape[1], expected)");
            }
            for (int c = 0; c < inputScales.length; c++) {
                if (!(inputScales[c] > 0) || !Float.isFinite(inputScales[c])) {
                    throw new InvalidTensorException("input scale " + c + " is " + inputScales[c]
                            + ": input scales must be positive and finite");
                }
            }
        }

        @Override public long[] shape() { return stored.shape(); }

        @Override
        public long storageBytes() {
            return stored.storageBytes() + 4L * inputScales.length;
        }

        @Override
        public float[] effectiveWeight() {
            float[] w = stored.effectiveWeight();
            int cols = (int) (w.length / shape()[0]);
            int perScale = cols / inputScales.length;
            for (int i = 0; i < w.length; i++) {
                w[i] /= inputScales[(i % cols) / perScale];
            }
            return w;
        }

        @Override
        public void addTo(QuantizedModel.Builder model, String name) {
            stored.addTo(model, name);
            model.addFloat(name + INPUT_SCALE_SUFFIX, new FloatTensor(new long[] {inputScales.length}, inputScales.clone()));
        }
    }

    /** Whether {@code model} stores a target named {@code name} (as a grid or CLAQ tensor). */
    static boolean stores(QuantizedModel model, String name) {
        return model.quantizedTensors().containsKey(name) || model.claqTensors().containsKey(name);
    }

    /**
     * The target {@code name} of {@code model}, with its {@code <name>/input_scale} when the model has one.
     *
     * @throws InvalidTensorException naming the tensor when there is none, or its input scale does not fit
     */
    static StoredWeight read(QuantizedModel model, String name) {
        QuantizedTensor q = model.quantizedTensors().get(name);
        ClaqTensor c = model.claqTensors().get(name);
        if (q == null && c == null) {
            throw new InvalidTensorException("the model has no quantized or CLAQ tensor '" + name + "'");
        }
        StoredWeight stored = q != null ? new Grid(q) : new Codebooks(c);
        FloatTensor scale = model.floatTensors().get(name + INPUT_SCALE_SUFFIX);
        if (scale == null) {
            return stored;
        }
        if (scale.shape().length != 1) {
            throw new InvalidTensorException("tensor '" + name + INPUT_SCALE_SUFFIX + "' has shape "
                    + Arrays.toString(scale.shape()) + "; input scales are a vector");
        }
        try {
            return new InputScaled(stored, scale.data());
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("tensor '" + name + INPUT_SCALE_SUFFIX + "': " + e.getMessage());
        }
    }
}
