package org.quant4j.model.bert;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.model.StoredWeight;

/**
 * Loads a quantized BERT model file back into a {@link BertEncoder} (the naming convention of the MiniLM PTQ
 * work): each of the encoder's {@linkplain BertEncoder#targets() targets} is stored under its target name as a
 * {@link QuantizedTensor} (RTN, GPTQ, HQQ, AWQ) or a {@link ClaqTensor} (CLAQ) in PyTorch layout {@code [out, in]}
 * and receives its dequantized values; when a float
 * tensor {@code <target>/input_scale} of shape {@code [in]} is present (AWQ scales that could not be folded into
 * the previous op), the stored tensor approximates {@code W·diag(s)} and the effective weight is
 * {@code dequantize()·diag(1/s)}. Every other parameter is a float tensor under its PyTorch {@code state_dict}
 * name ({@link BertEncoder#parameterNames()}) and is copied as is.
 *
 * <p>The whole model is checked before the encoder is touched: a missing target or parameter, a shape that
 * differs, a tensor the encoder does not know, or a non-positive or non-finite input scale is an
 * {@link InvalidTensorException} naming the tensor, and the encoder is left unchanged.
 */
public final class BertQuantizedWeights {
    /** Suffix of the AWQ input-channel scale tensor of a target. */
    public static final String INPUT_SCALE_SUFFIX = StoredWeight.INPUT_SCALE_SUFFIX;

    private BertQuantizedWeights() {
    }

    /**
     * What {@link #apply} set: targets from quantized tensors and from CLAQ tensors, float parameters, and input
     * scales divided out.
     */
    public record Applied(int quantizedTargets, int claqTargets, int floatParameters, int inputScales) {
    }

    /**
     * Sets every weight of {@code encoder} from {@code model}.
     *
     * @throws InvalidTensorException naming the tensor when the model does not fit the encoder (see the class comment)
     */
    public static Applied apply(QuantizedModel model, BertEncoder encoder) {
        Map<String, LinearTarget> targets = new LinkedHashMap<>();
        Set<String> targetWeightNames = new HashSet<>();
        for (LinearTarget t : encoder.targets()) {
            targets.put(t.name(), t);
            targetWeightNames.add(t.weightName());
        }
        for (String name : model.quantizedTensors().keySet()) {
            requireTarget(targets, name, "quantized", encoder);
        }
        for (String name : model.claqTensors().keySet()) {
            requireTarget(targets, name, "CLAQ", encoder);
        }
        Map<String, float[]> weights = new LinkedHashMap<>();
        int inputScales = 0;
        int claq = 0;
        for (LinearTarget t : targets.values()) {
            QuantizedTensor q = model.quantizedTensors().get(t.name());
            ClaqTensor c = model.claqTensors().get(t.name());
            if (q == null && c == null) {
                throw new InvalidTensorException("the model has no quantized or CLAQ tensor for target '" + t.name()
                        + "' of " + encoder.source());
            }
            long[] shape = q != null ? q.shape() : c.shape();
            long[] expected = {t.outFeatures(), t.inFeatures()};
            if (!Arrays.equals(shape, expected)) {
                throw new InvalidTensorException("tensor '" + t.name() + "' has shape " + Arrays.toString(shape)
                        + " but the target's weight is " + Arrays.toString(expected) + " [out, in]");
            }
            StoredWeight stored = StoredWeight.read(model, t.name()); // checks and divides out <target>/input_scale
            claq += c != null ? 1 : 0;
            inputScales += stored instanceof StoredWeight.InputScaled ? 1 : 0;
            weights.put(t.name(), stored.effectiveWeight());
        }
        List<String> parameterNames = encoder.parameterNames();
        Set<String> known = new HashSet<>(parameterNames);
        for (Map.Entry<String, FloatTensor> e : model.floatTensors().entrySet()) {
            String name = e.getKey();
            if (name.endsWith(INPUT_SCALE_SUFFIX)
                    && targets.containsKey(name.substring(0, name.length() - INPUT_SCALE_SUFFIX.length()))) {
                continue;
            }
            if (targetWeightNames.contains(name)) {
                throw new InvalidTensorException("float tensor '" + name + "' is the weight of a quantized target: "
                        + "targets are stored under their target name, not as float tensors");
            }
            if (!known.contains(name)) {
                throw new InvalidTensorException("float tensor '" + name + "' is not a parameter of "
                        + encoder.source() + " (see BertEncoder.parameterNames())");
            }
            long[] expected = encoder.parameter(name).shape();
            if (!Arrays.equals(e.getValue().shape(), expected)) {
                throw new InvalidTensorException("float tensor '" + name + "' has shape "
                        + Arrays.toString(e.getValue().shape()) + " but the parameter is " + Arrays.toString(expected));
            }
        }
        int floats = 0;
        for (String name : parameterNames) {
            if (!targetWeightNames.contains(name)) {
                if (!model.floatTensors().containsKey(name)) {
                    throw new InvalidTensorException("the model has no float tensor for parameter '" + name + "' of "
                            + encoder.source());
                }
                floats++;
            }
        }
        for (Map.Entry<String, float[]> e : weights.entrySet()) {
            LinearTarget t = targets.get(e.getKey());
            encoder.setWeight(t.name(), Nd4j.create(e.getValue(), new long[]{t.outFeatures(), t.inFeatures()},
                    DataType.FLOAT));
        }
        for (String name : parameterNames) {
            if (!targetWeightNames.contains(name)) {
                FloatTensor f = model.floatTensors().get(name);
                encoder.setParameter(name, Nd4j.create(f.data(), f.shape(), DataType.FLOAT));
            }
        }
        return new Applied(weights.size() - claq, claq, floats, inputScales);
    }

    private static void requireTarget(Map<String, LinearTarget> targets, String name, String kind, BertEncoder encoder) {
        if (!targets.containsKey(name)) {
            throw new InvalidTensorException(kind + " tensor '" + name + "' is not a target of " + encoder.source()
                    + " (targets are named like '" + encoder.targets().get(0).name() + "')");
        }
    }
}
