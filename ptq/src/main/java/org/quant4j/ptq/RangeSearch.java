package org.quant4j.ptq;

import org.quant4j.core.formats.IntGrid;

/**
 * How a block of weights gets its integer-grid parameters (scale and zero point): from its
 * {@link #minMax() min and max}, or by an {@link #mse() error-minimizing search} over shrunken ranges.
 */
@FunctionalInterface
public interface RangeSearch {
    /** Parameters of the block {@code data[offset .. offset+length)}. */
    IntGrid.Params fit(IntGrid grid, float[] data, int offset, int length);

    /** The range {@code [min, max]} of the block (widened to contain 0). */
    static RangeSearch minMax() {
        return MinMaxRange.INSTANCE;
    }

    /** The search of GPTQ's {@code Quantizer.find_params(mse=True)}: 80 ranges down to 0.21·[min, max], norm 2.4. */
    static RangeSearch mse() {
        return new MseRangeSearch(MseRangeSearch.DEFAULT_GRID, MseRangeSearch.DEFAULT_MAX_SHRINK,
                MseRangeSearch.DEFAULT_NORM);
    }

    /**
     * An error-minimizing search: candidate ranges {@code p·[min, max]} for {@code p = 1 - i/grid},
     * {@code 0 <= i < maxShrink·grid}, scored by {@code Σ |q(x) - x|^norm}.
     */
    static RangeSearch mse(int grid, double maxShrink, double norm) {
        return new MseRangeSearch(grid, maxShrink, norm);
    }
}
