package org.quant4j.qat;

import java.util.Objects;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.BaseActivationFunction;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.calibration.observer.RangeObserver;

/**
 * A layer's activation function followed by per-tensor affine fake quantization of its output,
 * {@code q(a) = (clamp(round(a/s) + z, qmin, qmax) - z) · s} with {@code s, z} from a
 * {@link RangeObserver} (Jacob et al. 2018, sec. 3: "activations are quantized at points where they
 * would be during inference", i.e. after the activation function).
 *
 * <p>Training forward passes feed the observer (until it freezes); inference uses the last range.
 * Before the observer has seen any data the activation is passed through unquantized.
 * The backward pass multiplies the incoming gradient by the {@link ActivationGradient} mask, then
 * by the wrapped activation's derivative.
 */
public final class FakeQuantActivation extends BaseActivationFunction {
    private static final long serialVersionUID = 1L;

    private final IActivation inner;
    private final int bits;
    private final boolean symmetric;
    private final ActivationGradient gradient;
    private final RangeObserver observer;

    public FakeQuantActivation(IActivation inner, int bits, boolean symmetric, ActivationGradient gradient,
                               RangeObserver observer) {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.bits = bits;
        this.symmetric = symmetric;
        this.gradient = Objects.requireNonNull(gradient, "gradient");
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    public IActivation inner() {
        return inner;
    }

    public RangeObserver observer() {
        return observer;
    }

    /** The current quantization parameters, or null while the observer has seen nothing. */
    ActivationRange range() {
        return observer.hasRange() ? ActivationRange.of(observer.min(), observer.max(), bits, symmetric) : null;
    }

    @Override
    public INDArray getActivation(INDArray in, boolean training) {
        INDArray a = inner.getActivation(in, training);
        if (training) {
            observer.observe(a);
        }
        ActivationRange r = range();
        if (r == null) {
            return a;
        }
        // in place: a <- (clamp(round(a/s) + z, qmin, qmax) - z) * s
        a.divi(r.scale());
        Transforms.round(a, false);
        a.addi(r.zero());
        Transforms.max(a, r.qmin(), false);
        Transforms.min(a, r.qmax(), false);
        return a.subi(r.zero()).muli(r.scale());
    }

    @Override
    public Pair<INDArray, INDArray> backprop(INDArray in, INDArray epsilon) {
        ActivationRange r = range();
        if (gradient == ActivationGradient.CLIPPED_STE && r != null) {
            INDArray code = inner.getActivation(in.dup(), true).divi(r.scale());
            Transforms.round(code, false);
            code.addi(r.zero());
            INDArray inside = code.gte(r.qmin()).castTo(epsilon.dataType())
                    .muli(code.lte(r.qmax()).castTo(epsilon.dataType()));
            epsilon = epsilon.mul(inside);
        }
        return inner.backprop(in, epsilon);
    }

    @Override
    public String toString() {
        return inner + "+fakequant(int" + bits + (symmetric ? "-sym" : "-asym") + ", " + gradient + ")";
    }
}
