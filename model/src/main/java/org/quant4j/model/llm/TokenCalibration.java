package org.quant4j.model.llm;

import java.util.List;
import java.util.Objects;
import org.quant4j.core.QuantizationException;
import org.quant4j.model.CalibrationInput;

/**
 * Calibration data for a decoder: token id sequences (already tokenized and cut to length), each run from position 0.
 *
 * @param sequences at least one, none empty
 * @param source    where the tokens come from, for reports
 */
public record TokenCalibration(List<int[]> sequences, String source) implements CalibrationInput {
    public TokenCalibration {
        Objects.requireNonNull(source, "source");
        if (sequences.isEmpty() || sequences.stream().anyMatch(s -> s.length == 0)) {
            throw new QuantizationException("the calibration set is empty or has an empty sequence: give at least one "
                    + "sequence of at least one token");
        }
        sequences = List.copyOf(sequences);
    }

    /** Tokens in all sequences. */
    public long tokens() {
        return sequences.stream().mapToLong(s -> s.length).sum();
    }

    @Override
    public String description() {
        return sequences.size() + " sequences, " + tokens() + " tokens" + (source.isEmpty() ? "" : " (" + source + ")");
    }

    @Override
    public long batches() {
        return sequences.size();
    }
}
