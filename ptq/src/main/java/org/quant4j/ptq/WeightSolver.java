package org.quant4j.ptq;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * A post-training weight quantizer for one layer: RTN, GPTQ, HQQ, AWQ, CLAQ.
 * Weights are {@code [out, in]} (one row per output channel, PyTorch's layout; the model adapter
 * transposes DL4J's {@code [nIn, nOut]}). A solver knows nothing of where its statistics came from.
 */
public interface WeightSolver {
    /** Short name: rtn, gptq, hqq, awq, claq. */
    String name();

    /** Whether {@link #solve} needs calibration statistics (false: {@code stats} may be null). */
    boolean needsCalibration();

    /**
     * Quantizes one layer's weight.
     *
     * @param layer names the layer in error messages
     * @param w     {@code [out, in]} float weight (not modified)
     * @param stats the layer's input statistics, or null when {@link #needsCalibration()} is false
     */
    QuantizedTensor solve(String layer, INDArray w, LayerStats stats, QuantSpec spec);
}
