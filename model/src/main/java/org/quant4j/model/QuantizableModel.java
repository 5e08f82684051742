package org.quant4j.model;

import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model as post-training quantization sees it (the shape of GPTQModel's / AutoAWQ's per-architecture model
 * definitions): ordered {@linkplain #blocks() blocks}, each a sequence of {@linkplain TargetGroup groups} of linear
 * targets quantized one group after another; read and write of each target's weight ({@code [out, in...]}) and bias;
 * calibration passes that capture a group's inputs and carry a block's outputs forward as the next block's inputs
 * ({@link CalibrationPass}); and AWQ's scale groups with the place each scale folds into ({@link #scaleGroups},
 * {@link #applyScales}). The one PTQ runner works on this interface only, so a new architecture is a new
 * implementation, not a new pipeline.
 *
 * <p>The runner changes the model it is given in place (every target ends holding the weight the quantized model
 * computes with); implementations say whether they wrap the user's object or a copy of it.
 */
public interface QuantizableModel {
    /** The model's name for the model file and the report. */
    String name();

    /** The blocks in execution order. */
    List<ModelBlock> blocks();

    /** Every target in execution order (block by block, group by group). */
    default List<QuantTarget> targets() {
        return blocks().stream().flatMap(b -> b.groups().stream()).flatMap(g -> g.targets().stream()).toList();
    }

    /** A copy of the target's weight, {@code [out, in...]} float32 (one row per output channel). */
    INDArray weight(QuantTarget target);

    /** Overwrites the target's weight with {@code outIn} ({@code [out, in...]}). */
    void setWeight(QuantTarget target, INDArray outIn);

    /** A copy of the target's bias {@code [out]}, or null when it has none. */
    INDArray bias(QuantTarget target);

    /** Overwrites the target's bias ({@code [out]}). */
    void setBias(QuantTarget target, INDArray bias);

    /** Every parameter that is not a target weight (biases, norms, embeddings...) by its file name, as it is now. */
    Map<String, INDArray> otherParameters();

    /**
     * Opens a pass over calibration data at the model's input (a fresh pass starts at the first block).
     *
     * @throws org.quant4j.core.QuantizationException if {@code data} is not a kind of input this model runs, naming
     *                                                 both
     */
    CalibrationPass open(CalibrationInput data);

    /** What {@link #open} accepts, for error messages (e.g. "CalibrationData (network inputs)"). */
    String calibrationKind();

    /** AWQ's scale groups of {@code block} (AutoAWQ {@code get_layers_for_scaling}), in the order they are searched. */
    List<ScaleGroup> scaleGroups(int block);

    /**
     * Applies AWQ input-channel scales to the float model so that it computes the same function (up to rounding):
     * {@code 1/s} folded into the op before each group where that is exact, else kept to be stored with the target.
     *
     * @param scales per {@link ScaleGroup#name()} of {@code block}, one value per input channel
     * @return per target name of the block, what to quantize and store
     */
    Map<String, ScaledTarget> applyScales(int block, Map<String, float[]> scales);

    /**
     * Overwrites one of {@link #otherParameters()} (same shape). The default assigns into the array that map holds,
     * right for models whose map holds their live arrays; models that hand out copies override it.
     */
    default void setOtherParameter(String name, INDArray value) {
        INDArray p = otherParameters().get(name);
        if (p == null) {
            throw new org.quant4j.core.QuantizationException(name() + " has no parameter '" + name + "' besides its targets");
        }
        p.assign(value.reshape(p.shape()).castTo(p.dataType()));
    }

    /**
     * The parameters named {@code names} (in that order) except {@code targetWeights}, read by {@code read}: what
     * {@link #otherParameters()} returns for a model whose parameters are named.
     */
    static Map<String, INDArray> parametersExcept(List<String> names, java.util.Set<String> targetWeights,
                                                  java.util.function.Function<String, INDArray> read) {
        Map<String, INDArray> out = new java.util.LinkedHashMap<>();
        for (String p : names) {
            if (!targetWeights.contains(p)) {
                out.put(p, read.apply(p));
            }
        }
        return out;
    }

    /** The error for calibration data of another kind than {@link #calibrationKind()}, naming both. */
    static org.quant4j.core.QuantizationException wrongCalibration(QuantizableModel model, CalibrationInput data) {
        return new org.quant4j.core.QuantizationException(model.name() + " calibrates on " + model.calibrationKind()
                + ", got " + data.getClass().getSimpleName() + " (" + data.description() + ")");
    }
}
