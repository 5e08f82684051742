package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.formats.IntGrid;

/**
 * A per-tensor grid in the form core's {@link IntGrid} evaluates, plus an optional real offset (LSQ+):
 * {@code â = value(code(a - offset)) + offset} with IntGrid's {@code scale} and code-space {@code zero}.
 * The offset is 0 for min-max and LSQ grids.
 *
 * @param grid   bits, symmetric or not, and how zero points are kept
 * @param scale  the step, as stored (already rounded to the spec's scale encoding)
 * @param zero   the zero point in code space ({@code 2^(b-1)} for symmetric grids)
 * @param offset LSQ+'s learned offset β, else 0
 */
record AffineGrid(IntGrid grid, float scale, float zero, float offset) implements java.io.Serializable {
    /** Smallest code-space value minus the zero point: the lower clamp bound of {@code (a - offset) / scale}. */
    float low() {
        return -zero;
    }

    /** Largest code minus the zero point: the upper clamp bound of {@code (a - offset) / scale}. */
    float high() {
        return grid.maxCode() - zero;
    }

    /**
     * {@code â} for every element of {@code a}, in place (DL4J expects a layer's activations in the array, and
     * workspace, its activation function was given).
     */
    INDArray fakeQuantizeInPlace(INDArray a) {
        if (offset == 0f) {
            return IntFakeQuant.applyInPlace(a, grid, scale, zero);
        }
        return IntFakeQuant.applyInPlace(a.subi(offset), grid, scale, zero).addi(offset);
    }

    /** {@link #fakeQuantizeInPlace} of {@code v[0 .. n)}: core's {@link IntGrid} loop, so the same float bits. */
    void fakeQuantize(float[] v, int n) {
        IntGrid.Params p = new IntGrid.Params(scale, zero);
        if (offset == 0f) {
            grid.fakeQuantize(v, 0, n, p, v, 0);
            return;
        }
        for (int i = 0; i < n; i++) {
            v[i] -= offset;
        }
        grid.fakeQuantize(v, 0, n, p, v, 0);
        for (int i = 0; i < n; i++) {
            v[i] += offset;
        }
    }

    /** {@code (a - offset) / scale}, a new array: the grid coordinate before rounding and clamping. */
    INDArray coordinate(INDArray a) {
        return offset == 0f ? a.div(scale) : a.sub(offset).divi(scale);
    }
}
