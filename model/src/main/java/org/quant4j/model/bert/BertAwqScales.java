package org.quant4j.model.bert;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.model.AwqFolding;
import org.quant4j.model.ScaledTarget;

/**
 * Where AWQ's input-channel scales of one post-LayerNorm BERT layer go (AutoAWQ {@code apply_scale}), so
 * that the float model computes the same function:
 * <ul>
 *   <li><b>attention output dense</b> (scales {@code s_o}): its input is the attention mix of V, linear in
 *       V, so {@code 1/s_o} is folded into V's rows and bias ({@link AwqFolding#foldIntoPreviousLinear},
 *       AutoAWQ {@code scale_fc_fc}) — exact; no input scale is stored for it;</li>
 *   <li><b>Q/K/V</b> ({@code s_qkv}) and <b>FFN in</b> ({@code s_i}): their input is a LayerNorm output
 *       that also feeds the residual of post-LN BERT, so dividing the LayerNorm by {@code s} (AutoAWQ
 *       {@code scale_ln_fcs}, right for pre-LN LLMs) would change the residual stream;</li>
 *   <li><b>FFN out</b> ({@code s_f}): its input is GELU's output and GELU is not homogeneous, so it cannot
 *       absorb the scale.</li>
 * </ul>
 * For the last two cases the stored tensor is {@code W·diag(s)} and {@code s} is stored as
 * {@code <target>/input_scale}: the runtime divides the layer's input by {@code s}, which is AutoAWQ's
 * {@code ScaledActivation} (an explicit division of the activation before the scaled layer) moved into
 * the layer. The encoder then holds the float-equivalent weight {@code (W·diag(s))·diag(1/s)}.
 */
final class BertAwqScales {
    private BertAwqScales() {}

    /** The four scale vectors of one layer: Q/K/V (shared), attention output, FFN in, FFN out. */
    public record LayerScales(float[] qkv, float[] attentionOutput, float[] ffnIn, float[] ffnOut) {
        float[] of(LinearRole role) {
            return switch (role) {
                case QUERY, KEY, VALUE -> qkv;
                case ATTENTION_OUTPUT -> attentionOutput;
                case FFN_IN -> ffnIn;
                case FFN_OUT -> ffnOut;
            };
        }
    }

    /**
     * Applies the scales of layer {@code layer} to the encoder's float weights (V's rows and bias divided by
     * {@code s_o}, the attention output's columns multiplied by {@code s_o}, every other target set to
     * {@code (W·diag(s))·diag(1/s)}) and returns each target's weight to quantize, by target name in
     * execution order. The encoder's float function is unchanged up to rounding.
     */
    static Map<String, ScaledTarget> apply(BertEncoder encoder, int layer, LayerScales scales) {
        Map<LinearRole, LinearTarget> targets = new LinkedHashMap<>();
        for (LinearTarget t : encoder.targets()) {
            if (t.layer() == layer) {
                targets.put(t.role(), t);
            }
        }
        if (targets.size() != LinearRole.values().length) {
            throw new InvalidTensorException(encoder.source() + ": layer " + layer + " does not have the six targets of a"
                    + " BERT layer");
        }
        float[] so = scales.attentionOutput();
        Map<String, ScaledTarget> out = new LinkedHashMap<>();
        for (LinearTarget t : targets.values()) {
            float[] s = scales.of(t.role());
            INDArray original = encoder.weight(t.name()); // a copy: the encoder's own weight changes below
            INDArray stored = AwqFolding.scaleColumns(original, s);
            switch (t.role()) {
                case VALUE -> {
                    AwqFolding.LinearParams folded = AwqFolding.foldIntoPreviousLinear(stored,
                            encoder.parameter(t.biasName()), so);
                    stored = folded.weight();
                    encoder.setParameter(t.biasName(), folded.bias());
                    encoder.setWeight(t.name(), AwqFolding.unscaleColumns(stored, s));
                    out.put(t.name(), new ScaledTarget(original, stored, s, true, so, s,
                            "1/s stored; rows divided by the attention output's s"));
                }
                case ATTENTION_OUTPUT -> {
                    encoder.setWeight(t.name(), stored);
                    out.put(t.name(), new ScaledTarget(original, stored, s, false, null, s,
                            "1/s folded into the value rows"));
                }
                default -> {
                    encoder.setWeight(t.name(), AwqFolding.unscaleColumns(stored, s));
                    out.put(t.name(), new ScaledTarget(original, stored, s, true, null, s, "input_scale stored"));
                }
            }
        }
        return out;
    }

}
