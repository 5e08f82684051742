package org.quant4j.qat.samediff;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.qat.WeightGradient;

/** {@link SameDiffQat#convert} and {@link SameDiffQat#dequantizedGraph}. */
final class SameDiffQatConversion {
    static final String METADATA_KEY = "qat.samediff";
    private static final ObjectMapper JSON = new ObjectMapper();

    private SameDiffQatConversion() {}

    static QuantizedModel convert(SameDiffQat qat) {
        SameDiff sd = qat.sameDiff();
        if (qat.weights().isEmpty() && qat.activations().isEmpty()) {
            throw new QuantizationException("the SameDiff graph holds no fake quantizer to convert");
        }
        for (SameDiffQat.ActivationNode n : qat.activations().values()) {
            if (!n.initialised) {
                throw new QuantizationException("activation '" + n.name + "': " + (n.observed == null
                        ? "its LSQ step was never initialised" : "its observer has seen no batch") + "; train with sd.fit "
                        + "(the attached listener does it) or call observeActivations before convert");
            }
        }
        Map<String, INDArray> stored = storedSteps(qat);
        QuantizedModel.Builder model = QuantizedModel.builder().metadata("method", "qat");
        List<Map<String, Object>> described = new ArrayList<>();
        for (SameDiffQat.WeightNode n : qat.weights().values()) {
            INDArray core = sd.getVariable(n.name).getArr().permute(n.layout.toCore()).dup('c');
            QuantizedTensor q = n.gradient == WeightGradient.LSQ
                    ? lsqTensor(n.name, core, n.spec, stored.get(n.storedStepVar).castTo(DataType.FLOAT).dup('c').data().asFloat())
                    : Quantizer.quantize(n.name, core, n.spec);
            model.addQuantized(n.name, q);
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("weight", n.name);
            d.put("spec", n.spec.shortName());
            d.put("gradient", n.gradient.name());
            d.put("layout", n.layout.name());
            described.add(d);
        }
        Set<String> owned = new HashSet<>(qat.quantizerVariables());
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.VARIABLE && !owned.contains(v.name())
                    && !qat.weights().containsKey(v.name())) {
                INDArray a = v.getArr();
                model.addFloat(v.name(), new FloatTensor(a.shape(), a.castTo(DataType.FLOAT).dup('c').data().asFloat()));
            }
        }
        for (SameDiffQat.ActivationNode n : qat.activations().values()) {
            float[] triple;
            if (n.observed != null) { // the grid the graph quantizes with
                float[] g = n.observed.graphGrid(sd);
                triple = new float[] {g[0], g[1], 0f};
            } else {
                float step = stored.get(n.storedStepVar).getFloat(0);
                float offset = n.offsetVar == null ? 0f : sd.getVariable(n.offsetVar).getArr().getFloat(0);
                triple = new float[] {step, n.zero, offset};
            }
            model.addFloat(n.name + SameDiffQat.ACTIVATION_SUFFIX, new FloatTensor(new long[] {3}, triple));
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("activation", n.name);
            d.put("spec", n.spec.toJson());
            d.put("gradient", n.gradient.name());
            if (n.observed != null) {
                d.put("observer", n.observed.kind.name());
                d.put("observations", n.observed.observer.observations());
            }
            described.add(d);
        }
        try {
            model.metadata(METADATA_KEY, JSON.writeValueAsString(described));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return model.build();
    }

    /** The steps as the forward pass rounded them, by stored-step variable name. */
    private static Map<String, INDArray> storedSteps(SameDiffQat qat) {
        List<String> names = new ArrayList<>();
        qat.weights().values().forEach(n -> { if (n.storedStepVar != null) names.add(n.storedStepVar); });
        qat.activations().values().forEach(n -> { if (n.storedStepVar != null) names.add(n.storedStepVar); });
        return names.isEmpty() ? Map.of() : qat.sameDiff().output(Map.of(), names);
    }

    /** Codes of the {@code [out, in...]} weight on the LSQ grid of the stored steps (one per row, or one). */
    private static QuantizedTensor lsqTensor(String name, INDArray core, QuantSpec spec, float[] steps) {
        float[] data = core.data().asFloat();
        long[] shape = core.shape();
        Quantizer.validate(name, data, shape, spec);
        IntGrid grid = IntGrid.of(spec);
        float zero = 1 << (spec.bits() - 1);
        EncodedArray scales = EncodedArray.encode(spec.scaleEncoding(), spec.bits(), steps);
        if (!Arrays.equals(scales.values(), steps)) {
            throw new QuantizationException(name + ": the LSQ steps are not exactly representable as "
                    + spec.scaleEncoding() + " (the graph rounds them before use)");
        }
        int length = data.length / steps.length;
        byte[] codes = new byte[data.length];
        for (int b = 0; b < steps.length; b++) {
            grid.codes(data, b * length, length, steps[b], zero, codes, b * length);
        }
        return new QuantizedTensor(spec, shape, BitPacker.pack(codes, codes.length, spec.bits()), scales, null, 1f);
    }

    static SameDiff dequantizedGraph(SameDiffQat qat, QuantizedModel model) {
        SameDiff sd = qat.sameDiff();
        SameDiff out = sd.dup();
        Set<String> owned = new HashSet<>(qat.quantizerVariables());
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() != VariableType.VARIABLE || owned.contains(v.name())) {
                continue;
            }
            INDArray target = out.getVariable(v.name()).getArr();
            SameDiffQat.WeightNode n = qat.weights().get(v.name());
            INDArray value;
            if (n != null) {
                QuantizedTensor q = model.quantizedTensors().get(v.name());
                if (q == null) {
                    throw new InvalidTensorException("the model has no quantized tensor '" + v.name() + "' for the fake-quantized weight");
                }
                value = q.dequantize().castTo(DataType.FLOAT).permute(n.layout.fromCore());
                out.getVariable(v.name() + SameDiffQat.BYPASS_SUFFIX).getArr().assign(0f);
            } else {
                FloatTensor f = model.floatTensors().get(v.name());
                if (f == null) {
                    throw new InvalidTensorException("the model has no tensor '" + v.name() + "' for the graph variable");
                }
                value = Nd4j.create(f.data(), f.shape(), 'c');
            }
            if (!Arrays.equals(value.shape(), target.shape())) {
                throw new InvalidTensorException("tensor '" + v.name() + "' has shape " + Arrays.toString(value.shape())
                        + ", the graph variable " + Arrays.toString(target.shape()));
            }
            target.assign(value);
        }
        for (SameDiffQat.ActivationNode n : qat.activations().values()) {
            FloatTensor grid = model.floatTensors().get(n.name + SameDiffQat.ACTIVATION_SUFFIX);
            if (grid == null || grid.size() != 3) {
                throw new InvalidTensorException("the model has no [scale, zero, offset] tensor '" + n.name
                        + SameDiffQat.ACTIVATION_SUFFIX + "'");
            }
            if (n.observed != null) {
                out.getVariable(n.observed.scaleVar).getArr().assign(grid.data()[0]);
                out.getVariable(n.observed.zeroVar).getArr().assign(grid.data()[1]);
                out.getVariable(n.observed.onVar).getArr().assign(1f);
                continue;
            }
            out.getVariable(n.stepVar).getArr().assign(grid.data()[0]);
            if (n.offsetVar != null) {
                out.getVariable(n.offsetVar).getArr().assign(grid.data()[2]);
            }
        }
        return out;
    }
}
