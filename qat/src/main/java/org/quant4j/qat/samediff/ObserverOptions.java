package org.quant4j.qat.samediff;

import java.util.Objects;
import org.quant4j.calibration.observer.RangeObserver;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.qat.ActivationGradient;
import org.quant4j.qat.ObserverKind;
import org.quant4j.qat.QatConfig;

/**
 * How an observed SameDiff activation quantizer ({@link SameDiffQat#fakeQuantActivation(org.nd4j.autodiff.samediff.SDVariable,
 * org.quant4j.core.QuantSpec, ObserverKind, ObserverOptions)}) trains: the parameters the DL4J path takes from
 * {@link QatConfig}, with its defaults ({@link #defaults()}).
 *
 * @param gradient          {@link ActivationGradient#CLIPPED_STE} (default; PyTorch's {@code FakeQuantize}) or
 *                          {@link ActivationGradient#STE}
 * @param averagingConstant weight of a new batch in {@link ObserverKind#MOVING_AVERAGE_MIN_MAX}, in (0, 1]
 * @param percentile        tail percentile of {@link ObserverKind#PERCENTILE}, in (50, 100]
 * @param histogramBins     histogram bins of {@link ObserverKind#PERCENTILE} and {@link ObserverKind#MSE}
 * @param freezeAfter       training iterations (observed batches) after which the range stops changing; negative: never
 */
public record ObserverOptions(ActivationGradient gradient, float averagingConstant, double percentile, int histogramBins,
                              int freezeAfter) {
    public ObserverOptions {
        Objects.requireNonNull(gradient, "gradient");
        if (gradient != ActivationGradient.STE && gradient != ActivationGradient.CLIPPED_STE) {
            throw new InvalidSpecException("an observed activation range is trained with STE or CLIPPED_STE, not " + gradient);
        }
    }

    /** QatConfig's defaults: clipped STE, c = 0.01, the 99.99th percentile, 2048 bins, never frozen. */
    public static ObserverOptions defaults() {
        return of(QatConfig.builder().build());
    }

    /** The activation gradient and observer parameters of a DL4J {@link QatConfig}. */
    public static ObserverOptions of(QatConfig config) {
        return new ObserverOptions(config.activationGradient(), config.averagingConstant(), config.percentile(),
                config.histogramBins(), config.freezeObserversAfter());
    }

    /** These options, freezing after {@code iterations}. */
    public ObserverOptions withFreezeAfter(int iterations) {
        return new ObserverOptions(gradient, averagingConstant, percentile, histogramBins, iterations);
    }

    /** These options with another averaging constant. */
    public ObserverOptions withAveragingConstant(float c) {
        return new ObserverOptions(gradient, c, percentile, histogramBins, freezeAfter);
    }

    /** These options with another percentile. */
    public ObserverOptions withPercentile(double p) {
        return new ObserverOptions(gradient, averagingConstant, p, histogramBins, freezeAfter);
    }

    /** These options with another gradient. */
    public ObserverOptions withGradient(ActivationGradient g) {
        return new ObserverOptions(g, averagingConstant, percentile, histogramBins, freezeAfter);
    }

    /** The observer the DL4J path creates for {@code kind} ({@code ObserverKind.create}) on {@code grid}. */
    RangeObserver create(ObserverKind kind, IntGrid grid) {
        try {
            return kind.create(averagingConstant, percentile, histogramBins, freezeAfter, grid);
        } catch (IllegalArgumentException e) {
            throw new InvalidSpecException(kind + " observer: " + e.getMessage());
        }
    }
}
