package org.quant4j.model;

import java.util.List;
import java.util.Objects;
import org.quant4j.core.QuantizationException;

/**
 * Calibration text for a language model: one sequence (sentence or passage) per string, truncated to {@code maxTokens}
 * tokens when tokenized.
 *
 * @param texts       the sequences, at least one
 * @param maxTokens   tokens kept per sequence (special tokens included)
 * @param source    where the text comes from, for reports (e.g. "SOTU sentences, seed 1790"; may be empty)
 */
public record TextCalibration(List<String> texts, int maxTokens, String source) implements CalibrationInput {
    /** Sequences per forward. */
    public static final int BATCH = 16;

    public TextCalibration {
        Objects.requireNonNull(source, "source");
        if (texts.isEmpty()) {
            throw new QuantizationException("the calibration set is empty: give at least one sequence");
        }
        texts = List.copyOf(texts);
        if (maxTokens < 3) {
            throw new QuantizationException("maxTokens must leave room for a start token, a token and an end token, got "
                    + maxTokens);
        }
    }

    /** "512 sequences (SOTU sentences), truncated to 128 tokens". */
    @Override
    public String description() {
        return texts.size() + " sequences" + (source.isEmpty() ? "" : " (" + source + ")") + ", truncated to " + maxTokens
                + " tokens";
    }

    @Override
    public long batches() {
        return (texts.size() + BATCH - 1) / BATCH;
    }
}
