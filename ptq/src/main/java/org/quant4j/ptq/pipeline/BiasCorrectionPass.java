package org.quant4j.ptq.pipeline;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.model.CalibrationInput;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.ModelBlock;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.TargetGroup;
import org.quant4j.ptq.BiasCorrection;

/**
 * Empirical {@link BiasCorrection} of a whole {@link QuantizableModel}, run by {@link PtqPipeline} after the solver.
 * {@link #capture}, before anything is changed, records every target's mean output {@code E[y] = W·E[x] + b} over the
 * calibration data of the float model. {@link #apply} then walks the quantized model block by block and group by
 * group, measures each group's mean input {@code E[x̂]} with every earlier target already corrected, and sets each
 * target's bias to {@code E[y]/r − Ŵ·E[x̂]}, {@code r} being the scales AWQ folded into the target's rows (so the
 * model computes its outputs divided by them; 1 otherwise). Targets without a bias, or whose inputs calibration cannot
 * capture, are left alone and their note says so.
 */
final class BiasCorrectionPass {
    private final QuantizableModel model;
    private final CalibrationInput calibration;
    private final Map<QuantTarget, double[]> floatMeanOutputs;
    private final Map<String, String> skipped;

    private BiasCorrectionPass(QuantizableModel model, CalibrationInput calibration,
                               Map<QuantTarget, double[]> floatMeanOutputs, Map<String, String> skipped) {
        this.model = model;
        this.calibration = calibration;
        this.floatMeanOutputs = floatMeanOutputs;
        this.skipped = skipped;
    }

    /** The float model's mean output of every correctable target; one {@link PtqListener#passStep} per block. */
    static BiasCorrectionPass capture(QuantizableModel model, CalibrationInput calibration, PtqListener listener) {
        Map<String, String> skipped = new LinkedHashMap<>();
        Map<TargetGroup, BiasCorrection.MeanInput> means = new LinkedHashMap<>();
        for (ModelBlock b : model.blocks()) {
            for (TargetGroup g : b.groups()) {
                for (QuantTarget t : g.targets()) {
                    if (!t.capturable()) {
                        skipped.put(t.name(), "not bias-corrected: calibration cannot capture the inputs of " + t.type());
                    } else if (model.bias(t) == null) {
                        skipped.put(t.name(), "not bias-corrected: the layer has no bias (hasBias=false)");
                    } else {
                        means.putIfAbsent(g, new BiasCorrection.MeanInput(g.first().inputWidth()));
                    }
                }
            }
        }
        CalibrationPass pass = model.open(calibration);
        List<ModelBlock> blocks = model.blocks();
        listener.passStarted(PtqListener.BIAS_CORRECTION_CAPTURE, blocks.size());
        for (int b = 0; b < blocks.size(); b++) {
            pass.advance(b, (group, rows) -> {
                BiasCorrection.MeanInput m = means.get(group);
                if (m != null) {
                    m.add(rows);
                }
            });
            listener.passStep(PtqListener.BIAS_CORRECTION_CAPTURE, blocks.get(b).name());
        }
        listener.passFinished(PtqListener.BIAS_CORRECTION_CAPTURE);
        Map<QuantTarget, double[]> outputs = new LinkedHashMap<>();
        means.forEach((g, m) -> {
            double[] mean = m.mean();
            for (QuantTarget t : g.targets()) {
                if (!skipped.containsKey(t.name())) {
                    outputs.put(t, BiasCorrection.meanOutput(t.name(), model.weight(t).data().asFloat(),
                            model.bias(t).data().asFloat(), mean));
                }
            }
        });
        return new BiasCorrectionPass(model, calibration, outputs, skipped);
    }

    /**
     * Corrects every captured target's bias in model order, in place; one {@link PtqListener#passStep} per group.
     *
     * @param rowScales per target whose rows carry a later group's AWQ scales, those scales
     * @return per target name, what was done (for the report's notes)
     * @throws InvalidTensorException naming the target when a bias is NaN or infinite (non-finite activations)
     */
    Map<String, String> apply(Map<String, float[]> rowScales, PtqListener listener) {
        Map<String, String> notes = new LinkedHashMap<>(skipped);
        List<ModelBlock> blocks = model.blocks();
        long groups = blocks.stream().mapToLong(b -> b.groups().size()).sum();
        CalibrationPass pass = model.open(calibration);
        listener.passStarted(PtqListener.BIAS_CORRECTION, groups);
        for (int b = 0; b < blocks.size(); b++) {
            List<TargetGroup> gs = blocks.get(b).groups();
            for (int g = 0; g < gs.size(); g++) {
                TargetGroup group = gs.get(g);
                if (group.targets().stream().anyMatch(floatMeanOutputs::containsKey)) {
                    BiasCorrection.MeanInput mean = new BiasCorrection.MeanInput(group.first().inputWidth());
                    pass.capture(b, g, (ignored, rows) -> mean.add(rows));
                    double[] quantMean = mean.mean();
                    for (QuantTarget t : group.targets()) {
                        if (floatMeanOutputs.containsKey(t)) {
                            notes.put(t.name(), correct(t, quantMean, rowScales.get(t.name())));
                        }
                    }
                }
                listener.passStep(PtqListener.BIAS_CORRECTION, group.name());
            }
            pass.advance(b, null);
        }
        listener.passFinished(PtqListener.BIAS_CORRECTION);
        return notes;
    }

    private String correct(QuantTarget t, double[] quantMean, float[] rowScale) {
        double[] target = floatMeanOutputs.get(t).clone();
        for (int r = 0; rowScale != null && r < target.length; r++) {
            target[r] /= rowScale[r];
        }
        INDArray current = model.bias(t);
        float[] old = current.data().asFloat();
        float[] bias = BiasCorrection.correctedBias(t.name(), target, model.weight(t).data().asFloat(), quantMean);
        double squares = 0;
        for (int r = 0; r < bias.length; r++) {
            if (!Float.isFinite(bias[r])) {
                throw new InvalidTensorException("bias correction of '" + t.name() + "': the corrected bias is " + bias[r]
                        + " (non-finite calibration activations?)");
            }
            double d = bias[r] - old[r];
            squares += d * d;
        }
        model.setBias(t, Nd4j.create(bias, current.shape(), 'c'));
        return String.format(Locale.ROOT, "bias corrected (rms shift %.3e)", Math.sqrt(squares / bias.length));
    }
}
