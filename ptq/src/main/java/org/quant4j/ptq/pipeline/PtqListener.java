package org.quant4j.ptq.pipeline;

import org.quant4j.model.QuantTarget;

/**
 * Follows a {@link PtqPipeline} or {@code BertPtq} run, layer by layer, and the whole-model passes around it (the CLI
 * draws a progress bar per layer and per pass from it). Called on the pipeline's thread; the default methods do
 * nothing.
 */
public interface PtqListener {
    PtqListener NONE = new PtqListener() { };
    /** The pass that records the float model's mean outputs before quantization, for bias correction. */
    String BIAS_CORRECTION_CAPTURE = "bias correction: float means";
    /** The bias-correction pass after quantization. */
    String BIAS_CORRECTION = "bias correction";

    /**
     * Target {@code index} of {@code count} starts.
     *
     * @param steps the {@link #layerStep} calls to expect (calibration batches, held-out batches, and the solve), or
     *              -1 when a data source cannot tell its number of batches
     */
    default void layerStarted(int index, int count, QuantTarget target, long steps) { }

    /** One step of the current target is done; {@code phase} is "calibration", "held-out" or "solve". */
    default void layerStep(QuantTarget target, String phase) { }

    /** Target {@code index} of {@code count} is quantized and written back into the network. */
    default void layerFinished(int index, int count, LayerReport report) { }

    /**
     * A pass over the whole model outside the layer-by-layer loop starts (e.g. {@code "bias correction: float means"}
     * before it, {@code "bias correction"} after it); {@code steps} {@link #passStep} calls follow, then
     * {@link #passFinished}.
     */
    default void passStarted(String pass, long steps) { }

    /** One step of the current pass is done; {@code what} names it (a layer or a group of targets). */
    default void passStep(String pass, String what) { }

    /** The pass is done. */
    default void passFinished(String pass) { }
}
