package org.quant4j.cli;

import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.model.data.SotuCorpus;

/**
 * The MiniLM commands' calibration text: {@code --calib sotu} (the default: single State of the Union sentences, the
 * shape of the evaluation text) or {@code --calib sotu-passages} (90-word passages, nearly full 128-token sequences),
 * and {@code --calib-samples N} sequences (default 512 sentences or 128 passages: the same 32 addresses, so the
 * evaluation sentences do not change).
 */
final class SotuCalibrationOptions {
    static final String SENTENCES = "sotu";
    static final String PASSAGES = "sotu-passages";

    private SotuCalibrationOptions() {
    }

    /** The seeded split for the command's {@code --calib} and {@code --calib-samples}. */
    static SotuCorpus.Split split(CommandLine cmd, int evaluationSentences) {
        SotuCorpus.Unit unit = unit(cmd);
        int samples = cmd.hasOption("calib-samples") ? SpecOptions.parseInt(cmd, "calib-samples") : unit.defaultCount();
        if (samples < 1) {
            throw new UsageException("--calib-samples must be at least 1, got " + samples);
        }
        return SotuCorpus.load().split(SotuCorpus.DEFAULT_SEED, unit, samples, evaluationSentences);
    }

    /** E.g. "512 sentences of 6-50 words from 32 State of the Union addresses, split seed 1790". */
    static String describe(SotuCorpus.Split split) {
        return split.calibrationDescription() + ", split seed " + SotuCorpus.DEFAULT_SEED;
    }

    private static SotuCorpus.Unit unit(CommandLine cmd) {
        String calib = cmd.getOptionValue("calib", SENTENCES).toLowerCase(Locale.ROOT);
        return switch (calib) {
            case SENTENCES -> SotuCorpus.Unit.SENTENCE;
            case PASSAGES -> SotuCorpus.Unit.PASSAGE;
            default -> throw new UsageException("minilm calibrates on State of the Union text: --calib " + SENTENCES
                    + " (single sentences, the default) or --calib " + PASSAGES + " (90-word passages), got '"
                    + calib + "'");
        };
    }
}
