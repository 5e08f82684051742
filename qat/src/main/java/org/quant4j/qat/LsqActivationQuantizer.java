package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.formats.IntGrid;

/**
 * LSQ activation quantization (Esser et al. 2020, eq. 1-5) with a learned step {@code s}, optionally with
 * LSQ+'s learned offset β (Bhalgat et al. 2020, sec. 3.2): {@code â = clamp(⌊(a - β)/s⌉, -Qn, Qp)·s + β}.
 * Symmetric specs use the signed grid {@code Qn = 2^(b-1), Qp = 2^(b-1)-1}; asymmetric ones the unsigned
 * grid {@code Qn = 0, Qp = 2^b-1} (the paper's choice after ReLU), with β when the offset is learned.
 *
 * <p>Backward (eq. 3-5 and LSQ+ eq. 6): {@code ∂â/∂a = 1} strictly inside the range, else 0;
 * {@code ∂â/∂s = ⌊u⌉ - u} inside, {@code -Qn} / {@code Qp} below / above, {@code u = (a - β)/s};
 * {@code ∂â/∂β = 0} inside, 1 outside. The step's and offset's gradients are scaled by
 * {@code g = 1/sqrt(N·Qp)} with N the features per example (sec. 2.2).
 *
 * <p>Initialisation on the first training batch: LSQ {@code s = 2⟨|a|⟩/sqrt(Qp)}; LSQ+ the batch's min-max
 * range, {@code β = min}, {@code s = (max - min)/(2^b - 1)} (the paper's min-max option). Until then, and in
 * inference before any training, activations pass unquantized.
 */
final class LsqActivationQuantizer implements ActivationQuantizer, LearnedParameters {
    private static final long serialVersionUID = 1L;

    private final String layerName;
    private final QuantSpec spec;
    private final IntGrid grid;
    private final boolean learnOffset;
    private final float zero;
    private boolean initialised;
    private float step;
    private float offset;
    private double stepGradient;
    private double offsetGradient;
    private boolean pending;
    private final StepUpdater stepUpdater = new StepUpdater();

    LsqActivationQuantizer(String layerName, QuantSpec spec, boolean learnOffset) {
        if (learnOffset && spec.symmetric()) {
            throw new org.quant4j.core.InvalidSpecException(layerName + ": LSQ+ learns an offset for asymmetric "
                    + "activations; use an asymmetric activation spec, or LSQ for symmetric ones");
        }
        this.layerName = layerName;
        this.spec = spec;
        this.grid = IntGrid.of(spec);
        this.learnOffset = learnOffset;
        this.zero = spec.symmetric() ? 1 << (spec.bits() - 1) : 0;
    }

    float qp() {
        return grid.maxCode() - zero;
    }

    @Override
    public AffineGrid grid() {
        return initialised ? new AffineGrid(grid, Lsq.storedStep(step, spec.scaleEncoding()), zero, offset) : null;
    }

    @Override
    public INDArray forward(INDArray a, boolean training) {
        if (training) {
            if (pending) {
                throw new QuantizationException(layerName + ": the LSQ gradient of the previous iteration was never "
                        + "applied, so the step size is not being trained; Qat.prepare attaches a LearnedStepTrainer "
                        + "listener, which net.setListeners(...) removes: use net.addListeners(...) instead");
            }
            if (!initialised) {
                initialise(a);
            }
        }
        AffineGrid g = grid();
        return g == null ? a : g.fakeQuantizeInPlace(a);
    }

    private void initialise(INDArray a) {
        if (learnOffset) {
            float min = a.minNumber().floatValue();
            float max = a.maxNumber().floatValue();
            offset = min;
            step = (max - min) / grid.maxCode();
        } else {
            step = Lsq.initialStep(Transforms.abs(a, true).meanNumber().doubleValue(), qp());
        }
        if (!Float.isFinite(step) || !Float.isFinite(offset)) {
            throw new org.quant4j.core.InvalidTensorException("the first training batch's activations are not finite");
        }
        initialised = true;
    }

    @Override
    public INDArray backward(INDArray a, INDArray epsilon) {
        AffineGrid g = grid();
        if (g == null) {
            return epsilon;
        }
        INDArray u = g.coordinate(a);
        INDArray inside = ClippingMask.strictlyInside(u, g.low(), g.high());
        double scale = Lsq.gradientScale(a.length() / a.size(0), qp());
        stepGradient += scale * epsilon.mul(Lsq.stepDerivative(u, inside, g.low(), g.high())).sumNumber().doubleValue();
        INDArray passed = epsilon.mul(inside);
        if (learnOffset) { // Σ ε·(1 - inside)
            offsetGradient += scale * (epsilon.sumNumber().doubleValue() - passed.sumNumber().doubleValue());
        }
        pending = true;
        return passed;
    }

    float step() {
        return step;
    }

    float offset() {
        return offset;
    }

    @Override
    public StepUpdater stepUpdater() {
        return stepUpdater;
    }

    @Override
    public int size() {
        return initialised ? (learnOffset ? 2 : 1) : 0;
    }

    @Override
    public void read(float[] out, int offset) {
        out[offset] = step;
        if (learnOffset) {
            out[offset + 1] = this.offset;
        }
    }

    @Override
    public void write(float[] in, int offset) {
        step = Math.max(in[offset], Float.MIN_NORMAL);
        if (learnOffset) {
            this.offset = in[offset + 1];
        }
    }

    @Override
    public void takeGradient(float[] out, int offset) {
        out[offset] = (float) stepGradient;
        if (learnOffset) {
            out[offset + 1] = (float) offsetGradient;
        }
        stepGradient = 0;
        offsetGradient = 0;
        pending = false;
    }

    @Override
    public String toString() {
        return (learnOffset ? "lsq+" : "lsq") + "(" + spec.shortName() + ", step " + step + ", offset " + offset + ")";
    }
}
