package org.quant4j.ptq.awq;

import org.quant4j.model.AwqFolding;
import org.quant4j.ptq.GridSolver;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.QuantSpec;

/**
 * A solver that also rescales the layer's input channels (AWQ). Its {@link #solve} returns only
 * {@link InputScaledTensor#tensor()}, the quantization of {@code W·diag(s)}: a pipeline must call
 * {@link #solveScaled} instead and either fold {@code 1/s} into the op before the layer
 * ({@link AwqFolding}) or write back {@link InputScaledTensor#effectiveWeight()}.
 */
public interface InputScaledSolver extends GridSolver {
    /** Quantizes {@code W·diag(s)} for input scales {@code s} it chooses. */
    InputScaledTensor solveScaled(String layer, INDArray w, LayerStats stats, QuantSpec spec);
}
