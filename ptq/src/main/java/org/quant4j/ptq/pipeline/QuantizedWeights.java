package org.quant4j.ptq.pipeline;

import java.util.Arrays;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.model.Dl4jNetwork;

/** Puts a {@link QuantizedModel}'s weights into a network: dequantized weights and fp32 parameters, by name. */
public final class QuantizedWeights {
    private QuantizedWeights() {}

    /** How many tensors {@link #load} put into the network. */
    public record Loaded(int quantized, int floats) {}

    /**
     * Writes every tensor of {@code model} into the network {@code view} describes.
     *
     * @throws QuantizationException naming the tensor when the network has no such weight or parameter, or its shape
     *                               differs (nothing is half-loaded: all names and shapes are checked first)
     */
    public static Loaded load(Dl4jNetwork view, QuantizedModel model) {
        Map<String, INDArray> params = view.otherParams();
        for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
            checkShape(e.getKey(), view.weight(view.target(e.getKey())).shape(), e.getValue().shape());
        }
        for (Map.Entry<String, FloatTensor> e : model.floatTensors().entrySet()) {
            INDArray param = params.get(e.getKey());
            if (param == null) {
                throw new QuantizationException("tensor '" + e.getKey() + "' of the quantized model is not a parameter "
                        + "of the network; its parameters are " + params.keySet());
            }
            checkShape(e.getKey(), param.shape(), e.getValue().shape());
        }
        model.quantizedTensors().forEach((name, q) -> view.setWeight(view.target(name), q.dequantize()));
        model.floatTensors().forEach((name, f) ->
                params.get(name).assign(Nd4j.create(f.data(), f.shape(), 'c').castTo(params.get(name).dataType())));
        return new Loaded(model.quantizedTensors().size(), model.floatTensors().size());
    }

    private static void checkShape(String name, long[] network, long[] stored) {
        if (!Arrays.equals(network, stored)) {
            throw new QuantizationException("tensor '" + name + "' has shape " + Arrays.toString(stored)
                    + " in the quantized model but " + Arrays.toString(network) + " in the network");
        }
    }
}
