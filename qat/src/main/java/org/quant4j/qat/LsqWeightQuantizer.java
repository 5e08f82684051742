package org.quant4j.qat;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.formats.IntGrid;

/**
 * LSQ weight quantization (Esser et al., ICLR 2020, eq. 1-5): one learned step per block (per tensor as in
 * the paper, or per channel / group), {@code ŵ = clamp(⌊w/s⌉, -Qn, Qp)·s} on core's symmetric
 * {@link IntGrid} ({@code Qn = 2^(b-1)}, {@code Qp = 2^(b-1)-1}), {@code s} rounded to the scale encoding,
 * so {@link #quantize} stores exactly the step the forward pass used. Steps start at {@code 2⟨|w|⟩/sqrt(Qp)}
 * per block on the first forward pass.
 *
 * <p>Backward, in {@link #accumulateGradient} (called by {@link LearnedStepTrainer} with DL4J's weight
 * gradient {@code ∂L/∂ŵ}, which DL4J computed at {@code ŵ}): {@code ∂L/∂s = g·Σ ∂L/∂ŵ · ∂ŵ/∂s} with eq. 3
 * and {@code g = 1/sqrt(N·Qp)}, N the block size (sec. 2.2), and the weight gradient is masked to the
 * clipped STE of eq. 5 ({@code ∂ŵ/∂w = 1} strictly inside the range, else 0).
 */
final class LsqWeightQuantizer implements WeightQuantizer, LearnedParameters {
    private static final long serialVersionUID = 1L;
    private final String layerName;
    private final QuantSpec spec;
    private final IntGrid grid;
    private final float zero;
    private float[] steps;
    private double[] gradients;
    private boolean pending;
    /** The iteration whose training pass set {@link #pending}. */
    private int pendingIteration = -1;
    private final StepUpdater stepUpdater = new StepUpdater();
    private transient INDArray out;

    LsqWeightQuantizer(String layerName, QuantSpec spec) {
        if (spec.format() != Format.INT || !spec.symmetric()) {
            throw new InvalidSpecException(layerName + ": LSQ weights use the symmetric INT grid, not "
                    + spec.shortName() + " (LSQ+ offsets are for activations)");
        }
        this.layerName = layerName;
        this.spec = spec;
        this.grid = IntGrid.of(spec);
        this.zero = 1 << (spec.bits() - 1);
    }

    float qp() {
        return grid.maxCode() - zero;
    }

    /** The steps as the forward pass uses them (rounded to the scale encoding). */
    float[] storedSteps() {
        float[] s = new float[steps.length];
        for (int b = 0; b < s.length; b++) {
            s[b] = Lsq.storedStep(steps[b], spec.scaleEncoding());
        }
        return s;
    }

    @Override
    public INDArray fakeQuantize(INDArray outIn) {
        INDArray blocks = Blocks.of(outIn, spec.granularity());
        if (steps == null) {
            float[] meanAbs = Transforms.abs(blocks, true).mean(1).castTo(DataType.FLOAT).toFloatVector();
            steps = new float[meanAbs.length];
            gradients = new double[meanAbs.length];
            for (int b = 0; b < steps.length; b++) {
                steps[b] = Math.max(Lsq.initialStep(meanAbs[b], qp()), Float.MIN_NORMAL);
            }
        }
        if (out == null || !Arrays.equals(out.shape(), blocks.shape())) {
            out = blocks.ulike();
        }
        float[] zeros = new float[] {zero};
        return IntFakeQuant.applyInto(blocks, out, grid, storedSteps(), zeros).reshape('c', outIn.shape());
    }

    /**
     * Adds {@code ∂L/∂s} of every block and masks {@code gradOutIn} (the {@code [out, in]} view of DL4J's
     * weight gradient, modified in place) to eq. 5.
     */
    void accumulateGradient(INDArray weightOutIn, INDArray gradOutIn) {
        if (steps == null) {
            throw new QuantizationException(layerName + ": LSQ gradient before any forward pass");
        }
        INDArray w = Blocks.of(weightOutIn, spec.granularity());
        INDArray g = Blocks.of(gradOutIn.dup('c'), spec.granularity());
        float[] s = storedSteps();
        float low = -zero;
        float high = qp();
        INDArray u = s.length == 1 ? w.div(s[0]) : w.divColumnVector(IntFakeQuant.column(s));
        INDArray inside = ClippingMask.strictlyInside(u, low, high);
        float[] perBlock = g.mul(Lsq.stepDerivative(u, inside, low, high)).sum(1).castTo(DataType.FLOAT).toFloatVector();
        double scale = Lsq.gradientScale(w.size(1), high);
        for (int b = 0; b < perBlock.length; b++) {
            gradients[b] += scale * perBlock[b];
        }
        gradOutIn.assign(g.muli(inside).reshape('c', gradOutIn.shape()));
    }

    @Override
    public QuantizedTensor quantize(String name, INDArray weight) {
        if (steps == null) {
            throw new QuantizationException(layerName + ": LSQ steps are set by the first forward pass; train before converting");
        }
        float[] data = weight.castTo(DataType.FLOAT).dup('c').data().asFloat();
        long[] shape = weight.shape();
        Quantizer.validate(name, data, shape, spec);
        EncodedArray scales = EncodedArray.encode(spec.scaleEncoding(), spec.bits(), storedSteps());
        float[] s = scales.values();
        int length = data.length / s.length;
        byte[] codes = new byte[data.length];
        for (int b = 0; b < s.length; b++) {
            grid.codes(data, b * length, length, s[b], zero, codes, b * length);
        }
        return new QuantizedTensor(spec, shape, BitPacker.pack(codes, codes.length, spec.bits()), scales, null, 1f);
    }

    @Override
    public StepUpdater stepUpdater() {
        return stepUpdater;
    }

    @Override
    public int size() {
        return steps == null ? 0 : steps.length;
    }

    @Override
    public void read(float[] out, int offset) {
        System.arraycopy(steps, 0, out, offset, steps.length);
    }

    @Override
    public void write(float[] in, int offset) {
        for (int b = 0; b < steps.length; b++) {
            steps[b] = Math.max(in[offset + b], Float.MIN_NORMAL);
        }
    }

    @Override
    public void takeGradient(float[] out, int offset) {
        for (int b = 0; b < gradients.length; b++) {
            out[offset + b] = (float) gradients[b];
            gradients[b] = 0;
        }
        pending = false;
    }

    /**
     * Called before a training forward pass. A second pass in the same iteration is allowed: DL4J's RnnOutputLayer
     * computes its pre-output again for the score after the backward pass.
     *
     * @throws QuantizationException if an earlier iteration's step gradient was never taken (the
     *                               {@link LearnedStepTrainer} listener is missing)
     */
    void beginTrainingPass(int iteration) {
        if (pending && iteration != pendingIteration) {
            throw new QuantizationException(layerName + ", iteration " + iteration + ": the LSQ step gradient of the "
                    + "previous iteration was never applied, so the steps are not being trained; Qat.prepare attaches a "
                    + "LearnedStepTrainer listener, which net.setListeners(...) removes: use net.addListeners(...)");
        }
        pending = true;
        pendingIteration = iteration;
    }
}
