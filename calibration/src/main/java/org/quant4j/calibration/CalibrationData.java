package org.quant4j.calibration;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import java.util.function.Consumer;
import org.quant4j.model.CalibrationInput;
import org.quant4j.model.WeightTarget;

/**
 * Network inputs for calibration (or for measuring output error), passed over once per target: an in-memory
 * {@code [n, ...]} array cut into batches, or a {@link DataSetIterator} that supports {@code reset()}.
 */
public final class CalibrationData implements CalibrationInput {
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

    @Override
    public String description() {
        return description;
    }

    @Override
    public long batches() {
        return features == null ? -1 : (features.size(0) + batchSize - 1) / batchSize;
    }

    /** Hands the target's rows of one pass to {@code sink} ({@link CalibrationRunner#forEachRows}). */
    long forEachRows(CalibrationRunner runner, WeightTarget target, Consumer<INDArray> sink) {
        return features != null ? runner.forEachRows(target, features, batchSize, sink)
                : runner.forEachRows(target, iterator, sink);
    }

    /**
     * The feature batches of one pass, kept (an iterator's are copied): for a pass that carries them forward layer
     * by layer.
     */
    List<INDArray> featureBatches() {
        List<INDArray> batches = new ArrayList<>();
        if (features != null) {
            CalibrationRunner.eachBatch(features, batchSize, batches::add, CalibrationRunner.BatchListener.NONE, () -> 0);
        } else {
            CalibrationRunner.eachBatch(iterator, b -> batches.add(b.dup()), CalibrationRunner.BatchListener.NONE, () -> 0);
        }
        return batches;
    }

    @Override
    public String toString() {
        return description;
    }
}
