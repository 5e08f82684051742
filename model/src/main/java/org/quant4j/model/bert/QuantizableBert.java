package org.quant4j.model.bert;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantizationException;
import org.quant4j.model.CalibrationInput;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.ModelBlock;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.ScaledTarget;
import org.quant4j.model.TargetGroup;
import org.quant4j.model.TextCalibration;

/**
 * A BERT encoder as a {@link QuantizableModel}, declared as GPTQModel / AutoAWQ declare an architecture: one block
 * per encoder layer with the groups [query, key, value] (one input), [attention output], [FFN in], [FFN out]; AWQ's
 * scale groups [Q, K, V] (loss inspected on the self-attention output), [attention output] (1/s folded into V's
 * rows), [FFN in], [FFN out] ({@link BertAwqScales} says where each scale goes). Calibration data is
 * {@link TextCalibration}. Quantization changes the wrapped encoder in place.
 */
public final class QuantizableBert implements QuantizableModel {
    /** The module AWQ's Q/K/V search inspects. */
    static final String SELF_ATTENTION = "self-attention";

    private final String name;
    private final BertEncoder encoder;
    private final WordPieceTokenizer tokenizer;
    private final List<ModelBlock> blocks;
    private final Map<String, LinearTarget> linears = new LinkedHashMap<>();

    private QuantizableBert(String name, BertEncoder encoder, WordPieceTokenizer tokenizer) {
        this.name = name;
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        if (tokenizer != null) {
            encoder.checkTokenizer(tokenizer);
        }
        List<ModelBlock> list = new ArrayList<>();
        for (int layer = 0; layer < encoder.layerCount(); layer++) {
            final int l = layer;
            List<LinearTarget> ts = encoder.targets().stream().filter(t -> t.layer() == l).toList();
            ts.forEach(t -> linears.put(t.name(), t));
            List<TargetGroup> groups = List.of(
                    new TargetGroup("encoder.layer." + layer + ".attention.self.qkv",
                            view(ts, LinearRole.QUERY, LinearRole.KEY, LinearRole.VALUE)),
                    group(ts, LinearRole.ATTENTION_OUTPUT), group(ts, LinearRole.FFN_IN), group(ts, LinearRole.FFN_OUT));
            list.add(new ModelBlock("encoder.layer." + layer, groups));
        }
        this.blocks = List.copyOf(list);
    }

    /** The encoder of {@code model}, quantized in place. */
    public static QuantizableBert of(String name, BertEncoder encoder, WordPieceTokenizer tokenizer) {
        return new QuantizableBert(name, encoder, tokenizer);
    }

    /** The encoder's weights only (named by its source), for loading a model file; it cannot calibrate. */
    static QuantizableBert weightsOf(BertEncoder encoder) {
        return new QuantizableBert(encoder.source(), encoder, null);
    }

    /** all-MiniLM-L6-v2, quantized in place. */
    public static QuantizableBert of(MiniLm model) {
        return new QuantizableBert(MiniLm.NAME, model.encoder(), model.tokenizer());
    }

    public BertEncoder encoder() {
        return encoder;
    }

    private TargetGroup group(List<LinearTarget> ts, LinearRole role) {
        List<QuantTarget> one = view(ts, role);
        return new TargetGroup(one.get(0).name(), one);
    }

    private static List<QuantTarget> view(List<LinearTarget> ts, LinearRole... roles) {
        List<QuantTarget> out = new ArrayList<>();
        for (LinearRole r : roles) {
            for (LinearTarget t : ts) {
                if (t.role() == r) {
                    out.add(new QuantTarget(t.name(), "Linear " + r.modulePath(),
                            new long[] {t.outFeatures(), t.inFeatures()}, t.inFeatures(), true));
                }
            }
        }
        return out;
    }

    LinearTarget linear(QuantTarget t) {
        LinearTarget l = linears.get(t.name());
        if (l == null) {
            throw new QuantizationException(encoder.source() + " has no quantization target '" + t.name() + "'");
        }
        return l;
    }

    @Override public String name() { return name; }
    @Override public List<ModelBlock> blocks() { return blocks; }
    @Override public INDArray weight(QuantTarget t) { return encoder.weight(linear(t).name()); }
    @Override public void setWeight(QuantTarget t, INDArray outIn) { encoder.setWeight(linear(t).name(), outIn); }
    @Override public INDArray bias(QuantTarget t) { return encoder.parameter(linear(t).biasName()); }
    @Override public void setBias(QuantTarget t, INDArray bias) { encoder.setParameter(linear(t).biasName(), bias); }
    @Override public String calibrationKind() { return "TextCalibration (sentences or passages)"; }

    @Override
    public Map<String, INDArray> otherParameters() {
        Set<String> weights = linears.values().stream().map(LinearTarget::weightName).collect(Collectors.toSet());
        return QuantizableModel.parametersExcept(encoder.parameterNames(), weights, encoder::parameter);
    }

    @Override
    public void setOtherParameter(String name, INDArray value) {
        encoder.setParameter(name, value);
    }

    @Override
    public CalibrationPass open(CalibrationInput data) {
        if (!(data instanceof TextCalibration text) || tokenizer == null) {
            throw QuantizableModel.wrongCalibration(this, data);
        }
        return new BertCalibrationPass(this, tokenizer, text);
    }

    @Override
    public List<ScaleGroup> scaleGroups(int block) {
        List<TargetGroup> g = blocks.get(block).groups();
        return List.of(new ScaleGroup(g.get(0).name(), g.get(0).targets(), "input_scale stored (post-LN residual)",
                        SELF_ATTENTION, 1),
                new ScaleGroup(g.get(1).name(), g.get(1).targets(), "1/s folded into the value rows", null, 1),
                new ScaleGroup(g.get(2).name(), g.get(2).targets(), "input_scale stored (post-LN residual)", null, 1),
                new ScaleGroup(g.get(3).name(), g.get(3).targets(), "input_scale stored (GELU before it)", null, 1));
    }

    @Override
    public Map<String, ScaledTarget> applyScales(int block, Map<String, float[]> scales) {
        List<ScaleGroup> groups = scaleGroups(block);
        float[][] s = new float[4][];
        for (int i = 0; i < 4; i++) {
            s[i] = scales.get(groups.get(i).name());
            if (s[i] == null) {
                throw new QuantizationException("no AWQ scales for " + groups.get(i).name());
            }
        }
        return BertAwqScales.apply(encoder, block, new BertAwqScales.LayerScales(s[0], s[1], s[2], s[3]));
    }
}
