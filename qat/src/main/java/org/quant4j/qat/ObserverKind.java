package org.quant4j.qat;

import org.quant4j.calibration.observer.MinMaxObserver;
import org.quant4j.calibration.observer.MovingAverageMinMaxObserver;
import org.quant4j.calibration.observer.RangeObserver;

/** Which observer tracks an activation's range. */
public enum ObserverKind {
    MIN_MAX,
    MOVING_AVERAGE_MIN_MAX;

    RangeObserver create(float averagingConstant, int freezeAfter) {
        return switch (this) {
            case MIN_MAX -> new MinMaxObserver(freezeAfter);
            case MOVING_AVERAGE_MIN_MAX -> new MovingAverageMinMaxObserver(averagingConstant, freezeAfter);
        };
    }
}
