package org.quant4j.ptq.pipeline;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.CalibrationRunner;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.WeightTarget;
import org.quant4j.ptq.BiasCorrection;

/**
 * {@link BiasCorrection} of a whole DL4J network in {@link PtqPipeline}: {@link #capture} records, before any target
 * is quantized, every target's float weight {@code W} and mean calibration input {@code E[x]} in the network; once
 * every target is quantized, {@link #apply} walks the targets in network order and adds
 * {@code W·E[x] − Ŵ·E[x̂]} to each one's bias, {@code x̂} being its calibration inputs in the network as it is at
 * that moment (every earlier target quantized and already corrected), {@code Ŵ} the weight the network computes
 * with.
 *
 * <p>Dense and Output layers multiply their {@code [batch, nIn]} input; a convolution's rows are its im2col
 * patches (zero padding included as the layer sees it, {@link CalibrationRunner}), so {@code W·E[patch]} is the mean
 * pre-activation of each output channel over images and positions. Both are captured on the same network object
 * (the pipeline's copy), so for AWQ, whose scales {@link AwqTargets} folds into that copy before quantizing,
 * {@code W}, {@code E[x]} and {@code Ŵ}, {@code E[x̂]} are all in the domain the copy computes in (a Dense whose rows
 * carry the next layer's {@code 1/s} is corrected towards its float output divided by {@code s}, which is what the
 * float copy computes). Targets whose layer has no bias ({@code hasBias(false)}) or whose inputs the runner cannot
 * capture (LSTM) are left alone, and their note says so.
 */
final class BiasCorrectionPass {
    /** A target's float reference: its weight and mean input before quantization (null for skipped targets). */
    private record Reference(float[] weight, double[] mean) {}

    private final Dl4jNetwork view;
    private final CalibrationRunner runner;
    private final CalibrationData calibration;
    private final Map<WeightTarget, Reference> references;
    private final Map<String, String> skipped;

    private BiasCorrectionPass(Dl4jNetwork view, CalibrationRunner runner, CalibrationData calibration,
                               Map<WeightTarget, Reference> references, Map<String, String> skipped) {
        this.view = view;
        this.runner = runner;
        this.calibration = calibration;
        this.references = references;
        this.skipped = skipped;
    }

    /**
     * Records the float reference of every target of {@code view} that can be corrected; call it before any target
     * is quantized.
     *
     * @param runner   a runner on the same network as {@code view}
     * @param listener gets one {@link PtqListener#passStep} per target
     */
    static BiasCorrectionPass capture(Dl4jNetwork view, CalibrationRunner runner, CalibrationData calibration,
                                      List<WeightTarget> targets, PtqListener listener) {
        Map<WeightTarget, Reference> references = new LinkedHashMap<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        listener.passStarted(PtqListener.BIAS_CORRECTION_CAPTURE, targets.size());
        for (WeightTarget t : targets) {
            if (!runner.supports(t)) {
                skipped.put(t.name(), "not bias-corrected: bias correction covers Dense, Output, RnnOutput and Convolution W ("
                        + t.layerType() + " " + t.paramKey() + ")");
            } else if (view.bias(t) == null) {
                skipped.put(t.name(), "not bias-corrected: the layer has no bias (hasBias=false)");
            } else {
                references.put(t, new Reference(view.weight(t).data().asFloat(), calibration.meanRows(runner, t)));
            }
            listener.passStep(PtqListener.BIAS_CORRECTION_CAPTURE, t.name());
        }
        listener.passFinished(PtqListener.BIAS_CORRECTION_CAPTURE);
        return new BiasCorrectionPass(view, runner, calibration, references, skipped);
    }

    /**
     * Corrects every captured target's bias in network order, in place; one {@link PtqListener#passStep} per target.
     *
     * @return per target name, what was done (for the report's notes)
     * @throws InvalidTensorException naming the layer when a shift is NaN or infinite (non-finite activations)
     */
    Map<String, String> apply(PtqListener listener) {
        Map<String, String> notes = new LinkedHashMap<>(skipped);
        listener.passStarted(PtqListener.BIAS_CORRECTION, references.size());
        for (Map.Entry<WeightTarget, Reference> e : references.entrySet()) {
            WeightTarget t = e.getKey();
            Reference ref = e.getValue();
            double[] quantMean = calibration.meanRows(runner, t);
            float[] shift = BiasCorrection.shift(t.name(), ref.weight(), view.weight(t).data().asFloat(), ref.mean(),
                    quantMean);
            INDArray bias = view.bias(t);
            if (bias.length() != shift.length) {
                throw new InvalidTensorException("bias correction of '" + t.name() + "': its bias '" + t.layerName()
                        + "/b' has " + bias.length() + " values for " + shift.length + " output rows");
            }
            double squares = 0;
            for (float s : shift) {
                if (!Float.isFinite(s)) {
                    throw new InvalidTensorException("bias correction of '" + t.name() + "': the bias shift is " + s
                            + " (non-finite calibration activations?)");
                }
                squares += (double) s * s;
            }
            bias.addi(Nd4j.create(shift, bias.shape(), 'c').castTo(bias.dataType()));
            notes.put(t.name(), String.format(Locale.ROOT, "bias corrected (rms shift %.3e)",
                    Math.sqrt(squares / shift.length)));
            listener.passStep(PtqListener.BIAS_CORRECTION, t.name());
        }
        listener.passFinished(PtqListener.BIAS_CORRECTION);
        return notes;
    }
}
