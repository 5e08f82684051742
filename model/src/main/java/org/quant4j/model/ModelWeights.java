package org.quant4j.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;

/**
 * Loads a quant4j model file back into a {@link QuantizableModel}, as the runner wrote it: each target is stored under
 * its target name as a {@link QuantizedTensor} or {@link ClaqTensor} of shape {@code [out, in...]} and receives its
 * dequantized values, with {@code <target>/input_scale} (AWQ scales not folded into the op before) divided out of
 * its columns ({@link StoredWeight}); every other parameter ({@link QuantizableModel#otherParameters()}) is a float
 * tensor under its own name and is copied as is.
 *
 * <p>The whole file is checked before the model is touched: a missing target or parameter, a shape that differs, a
 * tensor the model does not know, or a bad input scale is an {@link InvalidTensorException} naming the tensor, and
 * the model is left unchanged.
 */
public final class ModelWeights {
    private ModelWeights() {
    }

    /** What {@link #apply} set: targets from quantized and from CLAQ tensors, float parameters, input scales. */
    public record Applied(int quantizedTargets, int claqTargets, int floatParameters, int inputScales) {
    }

    /** @throws InvalidTensorException naming the tensor when the file does not fit the model */
    public static Applied apply(QuantizedModel file, QuantizableModel model) {
        Map<String, QuantTarget> targets = new LinkedHashMap<>();
        model.targets().forEach(t -> targets.put(t.name(), t));
        String example = targets.isEmpty() ? "" : " (targets are named like '" + targets.keySet().iterator().next() + "')";
        for (String name : file.quantizedTensors().keySet()) {
            requireKnown(targets, name, "quantized", model, example);
        }
        for (String name : file.claqTensors().keySet()) {
            requireKnown(targets, name, "CLAQ", model, example);
        }
        Map<QuantTarget, float[]> weights = new LinkedHashMap<>();
        int claq = 0;
        int inputScales = 0;
        for (QuantTarget t : targets.values()) {
            QuantizedTensor q = file.quantizedTensors().get(t.name());
            ClaqTensor c = file.claqTensors().get(t.name());
            if (q == null && c == null) {
                throw new InvalidTensorException("the model file has no quantized or CLAQ tensor for target '" + t.name()
                        + "' of " + model.name());
            }
            long[] shape = q != null ? q.shape() : c.shape();
            if (!Arrays.equals(shape, t.shape())) {
                throw new InvalidTensorException("tensor '" + t.name() + "' has shape " + Arrays.toString(shape)
                        + " but the target's weight is " + Arrays.toString(t.shape()) + " [out, in...]");
            }
            StoredWeight stored = StoredWeight.read(file, t.name()); // checks and divides out <target>/input_scale
            claq += c != null ? 1 : 0;
            inputScales += stored instanceof StoredWeight.InputScaled ? 1 : 0;
            weights.put(t, stored.effectiveWeight());
        }
        Map<String, INDArray> others = model.otherParameters();
        for (Map.Entry<String, FloatTensor> e : file.floatTensors().entrySet()) {
            String name = e.getKey();
            if (name.endsWith(StoredWeight.INPUT_SCALE_SUFFIX)
                    && targets.containsKey(name.substring(0, name.length() - StoredWeight.INPUT_SCALE_SUFFIX.length()))) {
                continue;
            }
            INDArray p = others.get(name);
            if (p == null) {
                throw new InvalidTensorException("float tensor '" + name + "' is not a parameter of " + model.name()
                        + (targets.containsKey(name) ? ": targets are stored as quantized or CLAQ tensors" : ""));
            }
            if (!Arrays.equals(e.getValue().shape(), p.shape())) {
                throw new InvalidTensorException("float tensor '" + name + "' has shape "
                        + Arrays.toString(e.getValue().shape()) + " but the parameter is " + Arrays.toString(p.shape()));
            }
        }
        for (String name : others.keySet()) {
            if (!file.floatTensors().containsKey(name)) {
                throw new InvalidTensorException("the model file has no float tensor for parameter '" + name + "' of "
                        + model.name());
            }
        }
        weights.forEach((t, w) -> model.setWeight(t, Nd4j.create(w, t.shape(), 'c')));
        others.forEach((name, p) -> {
            FloatTensor f = file.floatTensors().get(name);
            model.setOtherParameter(name, Nd4j.create(f.data(), f.shape(), 'c'));
        });
        return new Applied(weights.size() - claq, claq, others.size(), inputScales);
    }

    private static void requireKnown(Map<String, QuantTarget> targets, String name, String kind, QuantizableModel model,
                                     String example) {
        if (!targets.containsKey(name)) {
            throw new InvalidTensorException(kind + " tensor '" + name + "' is not a target of " + model.name() + example);
        }
    }

}
