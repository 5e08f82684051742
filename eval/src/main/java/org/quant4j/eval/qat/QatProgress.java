package org.quant4j.eval.qat;

/**
 * Progress of a QAT example run, for a progress bar or a log: each stage (fp32 training, PTQ
 * calibration, QAT fine-tuning, conversion) announces its number of iterations, reports each one,
 * and finishes with a one-line summary. All methods default to doing nothing.
 */
public interface QatProgress {
    QatProgress NONE = new QatProgress() {};

    /** A stage starts; {@code iterations} is 0 for a stage without training or calibration batches. */
    default void stageStarted(String stage, long iterations) {}

    /** One training or calibration iteration is done; {@code loss} is NaN for calibration. */
    default void iterationDone(double loss) {}

    /** The stage is done; {@code summary} is e.g. {@code "test accuracy 97.85%"}. */
    default void stageFinished(String stage, String summary) {}
}
