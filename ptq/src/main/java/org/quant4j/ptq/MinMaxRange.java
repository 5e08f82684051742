package org.quant4j.ptq;

import org.quant4j.core.formats.IntGrid;

/** The grid that just covers the block: {@link IntGrid#fit} of its min and max. */
public final class MinMaxRange implements RangeSearch {
    static final MinMaxRange INSTANCE = new MinMaxRange();

    private MinMaxRange() {}

    @Override
    public IntGrid.Params fit(IntGrid grid, float[] data, int offset, int length) {
        return grid.fit(data, offset, length);
    }

    @Override
    public String toString() {
        return "min-max";
    }
}
