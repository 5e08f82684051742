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
        return create(config.averagingConstant(), config.percentile(), config.histogramBins(),
                config.freezeObserversAfter(), this == MSE ? IntGrid.of(config.activations()) : null);
    }

    /**
     * The observer of this kind with explicit parameters (those of {@link QatConfig}; SameDiff QAT passes its own).
     *
     * @param grid the activation grid, which {@link #MSE} fits its range to (the other kinds ignore it)
     */
    public RangeObserver create(float averagingConstant, double percentile, int histogramBins, int freezeAfter,
                                IntGrid grid) {
        return switch (this) {
            case MIN_MAX -> new MinMaxObserver(freezeAfter);
            case MOVING_AVERAGE_MIN_MAX -> new MovingAverageMinMaxObserver(averagingConstant, freezeAfter);
            case PERCENTILE -> new PercentileObserver(percentile, histogramBins, freezeAfter);
            case MSE -> new MseObserver(grid, histogramBins, freezeAfter);
        };
    }
}
