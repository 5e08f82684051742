package org.quant4j.qat;

import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.observer.RangeObserver;
import org.quant4j.core.formats.IntGrid;

/**
 * Min-max activation quantization: an observer tracks the range of the activations seen in training
 * (until it freezes) and core's {@link IntGrid#fitRange} turns it into the scale and zero point
 * (Jacob et al. 2018, sec. 3). Before the observer has seen any data the activation passes unquantized.
 * Backward: {@link ActivationGradient#STE} or {@link ActivationGradient#CLIPPED_STE}.
 */
final class ObservedActivationQuantizer implements ActivationQuantizer.Ste {
    private static final long serialVersionUID = 1L;

    private final IntGrid grid;
    private final RangeObserver observer;
    private final boolean clipped;
    /** Scratch of the float32 forward pass (one copy in, observe and quantize on it, one copy out). */
    private transient float[] values;

    ObservedActivationQuantizer(IntGrid grid, RangeObserver observer, ActivationGradient gradient) {
        if (gradient != ActivationGradient.STE && gradient != ActivationGradient.CLIPPED_STE) {
            throw new IllegalArgumentException("an observed range is trained with STE or CLIPPED_STE, not " + gradient);
        }
        this.grid = Objects.requireNonNull(grid, "grid");
        this.observer = Objects.requireNonNull(observer, "observer");
        this.clipped = gradient == ActivationGradient.CLIPPED_STE;
    }

    RangeObserver observer() {
        return observer;
    }

    @Override
    public AffineGrid grid() {
        if (!observer.hasRange()) {
            return null;
        }
        IntGrid.Params p = grid.fitRange(Math.min(observer.min(), 0f), Math.max(observer.max(), 0f));
        return new AffineGrid(grid, p.scale(), p.zero(), 0f);
    }

    @Override
    public INDArray forward(INDArray a, boolean training) {
        if (!training && !observer.hasRange()) {
            return a;
        }
        if (!RawFloats.elementwise(a)) {
            if (training) {
                observer.observe(a);
            }
            AffineGrid g = grid();
            return g == null ? a : g.fakeQuantizeInPlace(a);
        }
        int n = (int) a.length();
        values = RawFloats.capacity(values, n);
        RawFloats.read(a, values);
        if (training) {
            observer.observe(values, 0, n);
        }
        AffineGrid g = grid();
        if (g != null) {
            g.fakeQuantize(values, n);
            RawFloats.write(values, a);
        }
        return a;
    }

    @Override
    public AffineGrid clipGrid() {
        return clipped ? grid() : null;
    }

    @Override
    public INDArray backward(INDArray a, INDArray epsilon) {
        AffineGrid g = grid();
        return clipped && g != null ? epsilon.mul(ClippingMask.roundedCodeInRange(g, a)) : epsilon;
    }
}
