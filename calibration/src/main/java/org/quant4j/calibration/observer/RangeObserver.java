package org.quant4j.calibration.observer;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.quant4j.core.InvalidTensorException;

/**
 * Tracks a range {@code [min, max]} of the tensors it is shown (per tensor), from which a quantizer derives
 * its scale and zero point. After {@code freezeAfter} observations it stops updating (observer freezing as in
 * Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
 * Inference", sec. 3.2; {@code freezeAfter < 0}: never). Every observation is checked for NaN and infinities
 * in the pass that finds its minimum and maximum. Subclasses decide what the range is: the running extremes
 * ({@link MinMaxObserver}, {@link MovingAverageMinMaxObserver}) or a statistic of a histogram
 * ({@link PercentileObserver}, {@link MseObserver}). Not thread safe: one observer belongs to one layer of one network.
 * Java-serializable with its state (the scratch buffer is transient): QAT checkpoints store observers this way.
 */
public abstract class RangeObserver implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final int freezeAfter;
    private long observations;
    private transient float[] scratch;

    protected RangeObserver(int freezeAfter) {
        this.freezeAfter = freezeAfter;
    }

    /** Updates the range with the elements of {@code x} unless frozen (float32 arrays are read with one bulk copy). */
    public final void observe(INDArray x) {
        if (isFrozen()) {
            return;
        }
        long n = x.length();
        if (n > Integer.MAX_VALUE - 8) {
            throw new InvalidTensorException("observed tensor of " + n + " elements is too large");
        }
        if (scratch == null || scratch.length < n) {
            scratch = new float[(int) n];
        }
        if (x.dataType() == DataType.FLOAT && Shape.hasDefaultStridesForShape(x) && x.elementWiseStride() == 1) {
            FloatBuffer b = x.data().asNioFloat();
            b.position((int) x.offset());
            b.get(scratch, 0, (int) n);
        } else {
            float[] copy = x.castTo(DataType.FLOAT).dup('c').data().asFloat();
            System.arraycopy(copy, 0, scratch, 0, (int) n);
        }
        observe(scratch, 0, (int) n);
    }

    /**
     * Updates the range with {@code data[from .. to)} unless frozen: one pass for the minimum and maximum (NaN
     * and infinities propagate into them and are refused), then the subclass's update.
     *
     * @throws InvalidTensorException if a value is NaN or infinite
     */
    public final void observe(float[] data, int from, int to) {
        if (isFrozen() || from >= to) {
            return;
        }
        float batchMin = data[from];
        float batchMax = data[from];
        for (int i = from + 1; i < to; i++) {
            batchMin = Math.min(batchMin, data[i]);
            batchMax = Math.max(batchMax, data[i]);
        }
        if (!Float.isFinite(batchMin) || !Float.isFinite(batchMax)) {
            throw new InvalidTensorException("observed tensor holds NaN or Inf (min " + batchMin + ", max " + batchMax
                    + ") at observation " + observations + ": the training diverged or the input is not finite");
        }
        update(data, from, to, batchMin, batchMax);
        observations++;
    }

    /** Takes one finite batch {@code data[from .. to)} whose extremes are {@code batchMin} and {@code batchMax}. */
    protected abstract void update(float[] data, int from, int to, float batchMin, float batchMax);

    public final boolean isFrozen() {
        return freezeAfter >= 0 && observations >= freezeAfter;
    }

    /** Whether a range exists (at least one batch was observed). */
    public final boolean hasRange() {
        return observations > 0;
    }

    public final long observations() {
        return observations;
    }

    /** Observations after which the range stops changing; negative: never. */
    public final int freezeAfter() {
        return freezeAfter;
    }

    public final float min() {
        requireRange();
        return rangeMin();
    }

    public final float max() {
        requireRange();
        return rangeMax();
    }

    /** The lower end of the range; called only after an observation. */
    protected abstract float rangeMin();

    /** The upper end of the range; called only after an observation. */
    protected abstract float rangeMax();

    private void requireRange() {
        if (!hasRange()) {
            throw new IllegalStateException("the observer has seen no data yet");
        }
    }
}
