package org.quant4j.qat;

import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Activation quantization on a grid that no longer changes: the grid a converted model stores (the
 * last one the trained quantizer used). Backward: clipped STE.
 */
final class FixedActivationQuantizer implements ActivationQuantizer.Ste {
    private static final long serialVersionUID = 1L;

    private final AffineGrid grid;
    private transient float[] values;

    FixedActivationQuantizer(AffineGrid grid) {
        this.grid = Objects.requireNonNull(grid, "grid");
    }

    @Override
    public AffineGrid grid() {
        return grid;
    }

    @Override
    public INDArray forward(INDArray a, boolean training) {
        if (!RawFloats.elementwise(a)) {
            return grid.fakeQuantizeInPlace(a);
        }
        int n = (int) a.length();
        values = RawFloats.capacity(values, n);
        RawFloats.read(a, values);
        grid.fakeQuantize(values, n);
        RawFloats.write(values, a);
        return a;
    }

    @Override
    public AffineGrid clipGrid() {
        return grid;
    }

    @Override
    public INDArray backward(INDArray a, INDArray epsilon) {
        return epsilon.mul(ClippingMask.roundedCodeInRange(grid, a));
    }

    @Override
    public String toString() {
        return "fixed(int" + grid.grid().bits() + ", scale " + grid.scale() + ", zero " + grid.zero()
                + ", offset " + grid.offset() + ")";
    }
}
