package org.quant4j.ptq.pipeline;

import org.quant4j.model.WeightTarget;

/**
 * Follows a {@link PtqPipeline} run, layer by layer (the CLI draws a progress bar per layer from it). Called on the
 * pipeline's thread; the default methods do nothing.
 */
public interface PtqListener {
    PtqListener NONE = new PtqListener() { };

    /**
     * Target {@code index} of {@code count} starts.
     *
     * @param steps the {@link #layerStep} calls to expect (calibration batches, held-out batches, and the solve), or
     *              -1 when a data source cannot tell its number of batches
     */
    default void layerStarted(int index, int count, WeightTarget target, long steps) { }

    /** One step of the current target is done; {@code phase} is "calibration", "held-out" or "solve". */
    default void layerStep(WeightTarget target, String phase) { }

    /** Target {@code index} of {@code count} is quantized and written back into the network. */
    default void layerFinished(int index, int count, LayerReport report) { }
}
