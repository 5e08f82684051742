package org.quant4j.ptq.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.StoredWeight;

/**
 * Puts a {@link QuantizedModel}'s weights into a network: effective weights of the quantized and CLAQ targets
 * ({@link StoredWeight}) and fp32 parameters, by name.
 */
public final class QuantizedWeights {
    private QuantizedWeights() {}

    /** How many targets (quantized or CLAQ) and fp32 parameters {@link #load} put into the network. */
    public record Loaded(int quantized, int floats) {}

    /**
     * Writes every tensor of {@code model} into the network {@code view} describes: each quantized or CLAQ target
     * gets its effective weight ({@link StoredWeight}: dequantized, divided by {@code <target>/input_scale} when the
     * model has one), every fp32 parameter its value.
     *
     * @throws QuantizationException naming the tensor when the network has no such weight or parameter, or its shape
     *                               differs, or an input scale does not fit (nothing is half-loaded: all names and
     *                               shapes are checked first)
     */
    public static Loaded load(Dl4jNetwork view, QuantizedModel model) {
        Map<String, INDArray> params = view.otherParams();
        Map<String, StoredWeight> targets = new LinkedHashMap<>();
        for (String name : concat(model.quantizedTensors().keySet(), model.claqTensors().keySet())) {
            StoredWeight stored = StoredWeight.read(model, name);
            checkShape(name, view.weight(view.target(name)).shape(), stored.shape());
            targets.put(name, stored);
        }
        Map<String, FloatTensor> floats = new LinkedHashMap<>();
        for (Map.Entry<String, FloatTensor> e : model.floatTensors().entrySet()) {
            String name = e.getKey();
            if (name.endsWith(StoredWeight.INPUT_SCALE_SUFFIX) && targets.containsKey(
                    name.substring(0, name.length() - StoredWeight.INPUT_SCALE_SUFFIX.length()))) {
                continue;
            }
            INDArray param = params.get(name);
            if (param == null) {
                throw new QuantizationException("tensor '" + name + "' of the quantized model is not a parameter "
                        + "of the network; its parameters are " + params.keySet());
            }
            checkShape(name, param.shape(), e.getValue().shape());
            floats.put(name, e.getValue());
        }
        targets.forEach((name, stored) -> view.setWeight(view.target(name), stored.effectiveWeightArray()));
        floats.forEach((name, f) ->
                params.get(name).assign(Nd4j.create(f.data(), f.shape(), 'c').castTo(params.get(name).dataType())));
        return new Loaded(targets.size(), floats.size());
    }

    private static List<String> concat(Set<String> a, Set<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static void checkShape(String name, long[] network, long[] stored) {
        if (!Arrays.equals(network, stored)) {
            throw new QuantizationException("tensor '" + name + "' has shape " + Arrays.toString(stored)
                    + " in the quantized model but " + Arrays.toString(network) + " in the network");
        }
    }
}
