package org.quant4j.calibration.observer;

/**
 * Exponential moving averages of the batch minima and maxima, {@code r <- r + c (batch - r)}, started
 * at the first batch's values (PyTorch's {@code MovingAverageMinMaxObserver}; Jacob et al. 2018,
 * sec. 3.1 "exponential moving averages (EMA) with the smoothing parameter being close to 1").
 */
public final class MovingAverageMinMaxObserver extends RunningRangeObserver {
    private final float averagingConstant;

    /**
     * @param averagingConstant weight {@code c} of the new batch, in (0, 1]; PyTorch's default is 0.01
     * @param freezeAfter       observations after which the range stops changing; negative: never
     */
    public MovingAverageMinMaxObserver(float averagingConstant, int freezeAfter) {
        super(freezeAfter);
        if (!(averagingConstant > 0f && averagingConstant <= 1f)) {
            throw new IllegalArgumentException("averaging constant must be in (0, 1], got " + averagingConstant);
        }
        this.averagingConstant = averagingConstant;
    }

    @Override
    protected float updateMin(float running, float batch) {
        return running + averagingConstant * (batch - running);
    }

    @Override
    protected float updateMax(float running, float batch) {
        return running + averagingConstant * (batch - running);
    }
}
