package org.quant4j.calibration.observer;

/** The range of everything observed: the minimum of the minima and the maximum of the maxima. */
public final class MinMaxObserver extends RunningRangeObserver {
    /** @param freezeAfter observations after which the range stops changing; negative: never */
    public MinMaxObserver(int freezeAfter) {
        super(freezeAfter);
    }

    @Override
    protected float updateMin(float running, float batch) {
        return Math.min(running, batch);
    }

    @Override
    protected float updateMax(float running, float batch) {
        return Math.max(running, batch);
    }
}
