package org.quant4j.model;

/**
 * Calibration (or held-out) data in the form one kind of {@link QuantizableModel} runs: network input arrays for
 * DL4J networks, text for language models. The runner passes it to {@link QuantizableModel#open} and never looks
 * inside.
 */
public interface CalibrationInput {
    /** What the data is, for reports and the model file (e.g. "MNIST train digits 0..511"). */
    String description();

    /** Batches per pass, or -1 when the source cannot tell (for progress). */
    long batches();
}
