package org.quant4j.qat;

import org.quant4j.calibration.observer.MinMaxObserver;
import org.quant4j.calibration.observer.MovingAverageMinMaxObserver;
import org.quant4j.calibration.observer.MseObserver;
import org.quant4j.calibration.observer.PercentileObserver;
import org.quant4j.calibration.observer.RangeObserver;
import org.quant4j.core.formats.IntGrid;

/** Which observer tracks an activation's range. */
public enum ObserverKind {
    /** The extremes of everything observed. */
    MIN_MAX,
    /** Exponential moving averages of the batch extremes ({@link QatConfig#averagingConstant()}). */
    MOVING_AVERAGE_MIN_MAX,
    /** The {@link QatConfig#percentile()} of each tail of a streaming histogram ({@link PercentileObserver}). */
    PERCENTILE,
    /** The histogram range minimising the activation grid's quantization MSE ({@link MseObserver}). */
    MSE;

    /** The observer of an activation quantized with {@code config}'s activation spec. */
    RangeObserver create(QatConfig config) {
        int freezeAfter = config.freezeObserversAfter();
        return switch (this) {
            case MIN_MAX -> new MinMaxObserver(freezeAfter);
            case MOVING_AVERAGE_MIN_MAX -> new MovingAverageMinMaxObserver(config.averagingConstant(), freezeAfter);
            case PERCENTILE -> new PercentileObserver(config.percentile(), config.histogramBins(), freezeAfter);
            case MSE -> new MseObserver(IntGrid.of(config.activations()), config.histogramBins(), freezeAfter);
        };
    }
}
