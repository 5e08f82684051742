package org.quant4j.ptq;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.model.StoredWeight;

/** A {@link WeightSolver} whose result lies on its {@link QuantSpec}'s grid: RTN, GPTQ, HQQ. */
public interface GridSolver extends WeightSolver {
    /**
     * Quantizes one layer's weight on {@code spec}'s grid.
     *
     * @see WeightSolver#quantize
     */
    QuantizedTensor solve(String layer, INDArray w, LayerStats stats, QuantSpec spec);

    @Override
    default Solution quantize(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        return new Solution(new StoredWeight.Grid(solve(layer, w, stats, spec)), "");
    }
}
