package org.quant4j.ptq.bert;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.model.bert.ActivationHook;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.LinearRole;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.ptq.BiasCorrection;
import org.quant4j.ptq.pipeline.PtqListener;

/**
 * Empirical bias correction ({@link BiasCorrection}) of a BERT encoder's dense layers, run after the solver. Before
 * quantization, {@link #capture} records every target's mean output {@code E[y] = W·E[x] + b} over the calibration
 * tokens of the float encoder (padding excluded). After it, {@link #apply} walks the quantized encoder layer by layer
 * and group by group ([Q, K, V], attention output, FFN in, FFN out), measures each group's mean input {@code E[x̂]}
 * with every earlier target already corrected, and sets each target's bias to {@code E[y] − Ŵ·E[x̂]}.
 */
final class BertBiasCorrection {
    private static final List<LinearRole> GROUP_ENDS = List.of(LinearRole.VALUE, LinearRole.ATTENTION_OUTPUT,
            LinearRole.FFN_IN, LinearRole.FFN_OUT);
    private final Map<String, double[]> floatMeanOutputs;

    private BertBiasCorrection(Map<String, double[]> floatMeanOutputs) {
        this.floatMeanOutputs = floatMeanOutputs;
    }

    /**
     * The float encoder's mean output of every target on {@code calib} (whose states it moves to the end); one
     * {@link PtqListener#passStep} per encoder layer.
     */
    static BertBiasCorrection capture(BertEncoder encoder, CalibrationSet calib, PtqListener listener) {
        Map<LinearTarget, BiasCorrection.MeanInput> means = new LinkedHashMap<>();
        for (LinearTarget t : encoder.targets()) {
            means.put(t, new BiasCorrection.MeanInput(t.inFeatures()));
        }
        listener.passStarted(PtqListener.BIAS_CORRECTION_CAPTURE, encoder.layerCount());
        for (int layer = 0; layer < encoder.layerCount(); layer++) {
            calib.advance(encoder, layer, hook(means));
            listener.passStep(PtqListener.BIAS_CORRECTION_CAPTURE, "encoder.layer." + layer);
        }
        listener.passFinished(PtqListener.BIAS_CORRECTION_CAPTURE);
        Map<String, double[]> outputs = new LinkedHashMap<>();
        means.forEach((t, m) -> outputs.put(t.name(), BiasCorrection.meanOutput(t.name(),
                encoder.weight(t.name()).data().asFloat(), encoder.parameter(t.biasName()).data().asFloat(), m.mean())));
        return new BertBiasCorrection(outputs);
    }

    /**
     * Corrects every target's bias in the (quantized) encoder, walking {@code calib} (fresh: at the embeddings).
     *
     * @param outputDivisors per target whose outputs the quantized encoder computes divided channel by channel
     *                       (AWQ folds the attention output's {@code 1/s} into V's rows): its float mean output is
     *                       divided likewise
     * @param listener       gets one {@link PtqListener#passStep} per group corrected
     * @return the mean absolute bias change per target, in model order
     */
    Map<String, Double> apply(BertEncoder encoder, CalibrationSet calib, Map<String, float[]> outputDivisors,
                              PtqListener listener) {
        Map<String, Double> changes = new LinkedHashMap<>();
        listener.passStarted(PtqListener.BIAS_CORRECTION, (long) encoder.layerCount() * GROUP_ENDS.size());
        for (int layer = 0; layer < encoder.layerCount(); layer++) {
            final int l = layer;
            List<LinearTarget> layerTargets = encoder.targets().stream().filter(t -> t.layer() == l).toList();
            for (LinearRole last : GROUP_ENDS) {
                List<LinearTarget> group = layerTargets.stream().filter(t -> groupEnd(t.role()) == last).toList();
                Map<LinearTarget, BiasCorrection.MeanInput> means = new LinkedHashMap<>();
                group.forEach(t -> means.put(t, new BiasCorrection.MeanInput(t.inFeatures())));
                calib.capture(encoder, layer, last, hook(means));
                for (LinearTarget t : group) {
                    double[] target = floatMeanOutputs.get(t.name()).clone();
                    float[] divisor = outputDivisors.get(t.name());
                    for (int r = 0; divisor != null && r < target.length; r++) {
                        target[r] /= divisor[r];
                    }
                    float[] old = encoder.parameter(t.biasName()).data().asFloat();
                    float[] bias = BiasCorrection.correctedBias(t.name(), target,
                            encoder.weight(t.name()).data().asFloat(), means.get(t).mean());
                    double change = 0;
                    for (int r = 0; r < bias.length; r++) {
                        change += Math.abs(bias[r] - old[r]);
                    }
                    changes.put(t.name(), change / bias.length);
                    encoder.setParameter(t.biasName(), Nd4j.create(bias));
                }
                listener.passStep(PtqListener.BIAS_CORRECTION, group.size() == 1 ? group.get(0).name()
                        : "encoder.layer." + layer + ".attention.self.qkv");
            }
            calib.advance(encoder, layer, (ActivationHook) null);
        }
        listener.passFinished(PtqListener.BIAS_CORRECTION);
        return changes;
    }

    /** The role whose input capture also yields the inputs of {@code role}'s group (Q, K, V share one input). */
    private static LinearRole groupEnd(LinearRole role) {
        return switch (role) {
            case QUERY, KEY, VALUE -> LinearRole.VALUE;
            default -> role;
        };
    }

    private static ActivationHook hook(Map<LinearTarget, BiasCorrection.MeanInput> means) {
        return CalibrationSet.hook(means.keySet(), (target, rows) -> means.get(target).add(rows));
    }
}
