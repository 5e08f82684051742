package org.quant4j.ptq;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.StoredWeight;

/**
 * The one contract of a post-training weight quantizer for one target — RTN, GPTQ, HQQ, CLAQ, and AWQ's quantizing
 * step — as the runner calls it. Weights are {@code [out, in...]} (one row per output channel, PyTorch's layout; the
 * model adapter transposes DL4J's {@code [nIn, nOut]}). A solver knows nothing of where its statistics came from or
 * which model the target belongs to. Solvers on a {@link QuantSpec}'s grid implement {@link GridSolver}; solvers that
 * choose their own widths (CLAQ) say so with {@link #usesSpec()}.
 */
public interface WeightSolver {
    /** Short name: rtn, gptq, hqq, awq, claq... */
    String name();

    /** Whether {@link #quantize} needs calibration statistics (false: {@code stats} may be null). */
    boolean needsCalibration();

    /** Whether the statistics must carry the inputs' Hessian {@code 2/n·XᵀX} (default: when calibration is needed). */
    default boolean needsHessian() {
        return needsCalibration();
    }

    /** Whether {@link #quantize} takes a spec (false: it is passed null). */
    default boolean usesSpec() {
        return true;
    }

    /**
     * Quantizes one target's weight.
     *
     * @param layer names the target in error messages
     * @param w     {@code [out, in...]} float weight (not modified)
     * @param stats the target's input statistics, or null when {@link #needsCalibration()} is false and there is no
     *              calibration data
     * @param spec  the target's spec, null when {@link #usesSpec()} is false
     */
    Solution quantize(String layer, INDArray w, LayerStats stats, QuantSpec spec);

    /** What a solver returns: the stored weight and what it did, for the report (may be empty). */
    record Solution(StoredWeight stored, String note) {}
}
