package org.quant4j.ptq.pipeline;

import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.calibration.CalibrationRunner;
import org.quant4j.calibration.LayerStats;
import org.quant4j.model.WeightTarget;
import org.quant4j.ptq.BiasCorrection;

/**
 * Network inputs for calibration (or for measuring output error), passed over once per target: an in-memory
 * {@code [n, ...]} array cut into batches, or a {@link DataSetIterator} that supports {@code reset()}.
 */
public final class CalibrationData {
    private final INDArray features;
    private final int batchSize;
    private final DataSetIterator iterator;
    private final String description;

    private CalibrationData(INDArray features, int batchSize, DataSetIterator iterator, String description) {
        this.features = features;
        this.batchSize = batchSize;
        this.iterator = iterator;
        this.description = Objects.requireNonNull(description, "description");
    }

    /** The rows of {@code features} (first dimension = examples) in batches of {@code batchSize}. */
    public static CalibrationData of(INDArray features, int batchSize, String description) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        return new CalibrationData(Objects.requireNonNull(features, "features"), batchSize, null, description);
    }

    /**
     * The features of an iterator's batches (labels are ignored).
     *
     * @throws IllegalArgumentException if it does not support {@code reset()}: the pipeline passes over it per target
     */
    public static CalibrationData of(DataSetIterator iterator, String description) {
        if (!iterator.resetSupported()) {
            throw new IllegalArgumentException("calibration iterator " + iterator.getClass().getSimpleName()
                    + " does not support reset(), but the pipeline passes over the data once per layer");
        }
        return new CalibrationData(null, 0, iterator, description);
    }

    /** What the data is, for reports (e.g. "MNIST train digits 0..511"). */
    public String description() {
        return description;
    }

    /** Batches per pass, or -1 when an iterator cannot tell. */
    public long batches() {
        return features == null ? -1 : (features.size(0) + batchSize - 1) / batchSize;
    }

    LayerStats collect(CalibrationRunner runner, WeightTarget target, int reservoirRows, long seed,
                       CalibrationRunner.BatchListener listener) {
        return features != null
                ? runner.collect(target, features, batchSize, reservoirRows, seed, listener)
                : runner.collect(target, iterator, reservoirRows, seed, listener);
    }

    /** The target's mean input row {@code E[x]} over one pass ({@link BiasCorrection.MeanInput}). */
    double[] meanRows(CalibrationRunner runner, WeightTarget target) {
        BiasCorrection.MeanInput mean = new BiasCorrection.MeanInput(runner.inputWidth(target));
        if (features != null) {
            runner.forEachRows(target, features, batchSize, mean::add);
        } else {
            runner.forEachRows(target, iterator, mean::add);
        }
        return mean.mean();
    }

    @Override
    public String toString() {
        return description;
    }
}
