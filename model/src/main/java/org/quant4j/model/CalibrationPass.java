package org.quant4j.model;

import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.ToDoubleFunction;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One pass of calibration data through a {@link QuantizableModel}, block by block: it keeps each batch's inputs of
 * the current block, so calibration costs one forward per block, not one per target from the model's input (the GPTQ
 * reference's {@code inps, outs = outs, inps}). Rows handed to a sink are {@code [rows, inputWidth]} float32 for the
 * tokens or examples that count (padding excluded); a sink must not keep them.
 */
public interface CalibrationPass {
    /**
     * Runs {@code block} on its current inputs with the model's current weights as far as group {@code group}, and
     * hands that group's input rows to {@code sink} (batch by batch). The block's inputs are not changed.
     */
    void capture(int block, int group, BiConsumer<TargetGroup, INDArray> sink);

    /**
     * Runs {@code block} on its current inputs with the model's current weights, handing every group's input rows to
     * {@code sink} (null: none), and makes the block's outputs the next block's inputs.
     */
    void advance(int block, BiConsumer<TargetGroup, INDArray> sink);

    /**
     * AWQ's loss for a scale group whose {@link ScaleGroup#inspect()} is not null: candidate weights of the group's
     * targets (in its order) to the mean squared error of the inspected module's output against the float output, on
     * up to {@code maxSequences} of this pass's current block inputs (call before {@link #advance}).
     *
     * @throws UnsupportedOperationException if the model inspects no module
     */
    default ToDoubleFunction<List<INDArray>> moduleLoss(int block, ScaleGroup group, int maxSequences) {
        throw new UnsupportedOperationException("this model inspects no module for AWQ: " + group.inspect());
    }

    /** Rows (tokens or examples) in one pass, when known, else -1. */
    default long rows() {
        return -1;
    }
}
