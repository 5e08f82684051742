package org.quant4j.calibration.observer;

/** An observer whose range is a running combination of the batch minima and maxima. */
public abstract class RunningRangeObserver extends RangeObserver {
    private float min;
    private float max;

    protected RunningRangeObserver(int freezeAfter) {
        super(freezeAfter);
    }

    @Override
    protected final void update(float[] data, int from, int to, float batchMin, float batchMax) {
        if (hasRange()) {
            min = updateMin(min, batchMin);
            max = updateMax(max, batchMax);
        } else {
            min = batchMin;
            max = batchMax;
        }
    }

    /** Combines the running minimum with the minimum of a new batch. */
    protected abstract float updateMin(float running, float batch);

    /** Combines the running maximum with the maximum of a new batch. */
    protected abstract float updateMax(float running, float batch);

    @Override
    protected final float rangeMin() {
        return min;
    }

    @Override
    protected final float rangeMax() {
        return max;
    }
}
