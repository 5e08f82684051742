package org.quant4j.calibration.observer;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidTensorException;

/**
 * Tracks the range {@code [min, max]} of the tensors it is shown (per tensor), from which a
 * quantizer derives its scale and zero point. After {@code freezeAfter} observations it stops
 * updating (observer freezing as in Jacob et al. 2018, "Quantization and Training of Neural Networks
 * for Efficient Integer-Arithmetic-Only Inference", sec. 3.2; {@code freezeAfter < 0}: never).
 * Not thread safe: one observer belongs to one layer of one network.
 */
public abstract class RangeObserver {
    private final int freezeAfter;
    private long observations;
    private boolean hasRange;
    private float min;
    private float max;

    protected RangeObserver(int freezeAfter) {
        this.freezeAfter = freezeAfter;
    }

    /**
     * Updates the range with {@code x} unless frozen: three reductions over {@code x} (min, max, and a
     * sum that exposes NaN/Inf, which ND4J's min and max skip), no copy.
     */
    public final void observe(INDArray x) {
        if (isFrozen()) {
            return;
        }
        float batchMin = x.minNumber().floatValue();
        float batchMax = x.maxNumber().floatValue();
        double sum = x.sumNumber().doubleValue();
        if (!Float.isFinite(batchMin) || !Float.isFinite(batchMax)
                || (!Double.isFinite(sum) && (x.isNaN().any() || x.isInfinite().any()))) {
            throw new InvalidTensorException("observed tensor holds NaN or Inf (min " + batchMin + ", max " + batchMax
                    + ") at observation " + observations + ": the training diverged or the input is not finite");
        }
        if (hasRange) {
            min = updateMin(min, batchMin);
            max = updateMax(max, batchMax);
        } else {
            min = batchMin;
            max = batchMax;
            hasRange = true;
        }
        observations++;
    }

    /** Combines the running minimum with the minimum of a new batch. */
    protected abstract float updateMin(float running, float batch);

    /** Combines the running maximum with the maximum of a new batch. */
    protected abstract float updateMax(float running, float batch);

    public final boolean isFrozen() {
        return freezeAfter >= 0 && observations >= freezeAfter;
    }

    public final boolean hasRange() {
        return hasRange;
    }

    public final long observations() {
        return observations;
    }

    public final float min() {
        requireRange();
        return min;
    }

    public final float max() {
        requireRange();
        return max;
    }

    private void requireRange() {
        if (!hasRange) {
            throw new IllegalStateException("the observer has seen no data yet");
        }
    }
}
