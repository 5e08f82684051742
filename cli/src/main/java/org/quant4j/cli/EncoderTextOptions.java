package org.quant4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.model.data.SotuCorpus;

/**
 * The text of the encoder commands. Calibration: {@code --calib sotu} (the default: single State of the Union
 * sentences, the shape of the evaluation text), {@code --calib sotu-passages} (90-word passages, nearly full
 * 128-token sequences) or {@code --calib FILE} (one sentence or passage per line), and {@code --calib-samples N}
 * sequences (SOTU default 512 sentences or 128 passages, from the same 32 addresses so that the evaluation sentences
 * do not change; of a file: its first N lines, default all). Evaluation ({@code eval} only): {@code --text FILE}, one
 * sentence per line, or {@code --sentences N} held-out SOTU sentences (default 1,000).
 */
final class EncoderTextOptions {
    static final String SENTENCES = "sotu";
    static final String PASSAGES = "sotu-passages";

    /** The texts of a run and how to describe them. */
    record Texts(List<String> calibration, String calibrationSource, String unit, List<String> evaluation,
                 String evaluationSource) {
    }

    private EncoderTextOptions() {
    }

    /**
     * Reads the command's texts; SOTU is loaded only when one of them comes from it.
     *
     * @param evaluationSentences held-out SOTU sentences kept apart from SOTU calibration (and returned as the
     *                            evaluation text without {@code --text})
     * @param evaluate            whether the command evaluates (else the evaluation text is empty)
     */
    static Texts read(CommandLine cmd, int evaluationSentences, boolean evaluate) throws IOException {
        String calib = cmd.getOptionValue("calib", SENTENCES);
        SotuCorpus.Unit unit = switch (calib.toLowerCase(Locale.ROOT)) {
            case SENTENCES -> SotuCorpus.Unit.SENTENCE;
            case PASSAGES -> SotuCorpus.Unit.PASSAGE;
            default -> null;
        };
        List<String> ownCalibration = unit == null ? lines("calib", calib) : null;
        List<String> ownText = cmd.hasOption("text") ? lines("text", cmd.getOptionValue("text")) : null;
        SotuCorpus.Split split = null;
        if (unit != null || (evaluate && ownText == null)) {
            SotuCorpus.Unit u = unit != null ? unit : SotuCorpus.Unit.SENTENCE;
            split = SotuCorpus.load().split(SotuCorpus.DEFAULT_SEED, u, samples(cmd, u.defaultCount()), evaluationSentences);
        }
        List<String> calibration;
        String calibrationSource;
        if (ownCalibration != null) {
            int n = Math.min(ownCalibration.size(), samples(cmd, ownCalibration.size()));
            calibration = ownCalibration.subList(0, n);
            calibrationSource = n + " lines of " + calib;
        } else {
            calibration = split.calibration();
            calibrationSource = describe(split);
        }
        return new Texts(calibration, calibrationSource, unit != null ? unit.label() : "line",
                !evaluate ? List.of() : ownText != null ? ownText : split.evaluation(),
                !evaluate ? "" : ownText != null ? ownText.size() + " lines of " + cmd.getOptionValue("text")
                        : split.evaluation().size() + " SOTU evaluation sentences (seed " + SotuCorpus.DEFAULT_SEED + ")");
    }

    private static int samples(CommandLine cmd, int defaultCount) {
        int samples = cmd.hasOption("calib-samples") ? SpecOptions.parseInt(cmd, "calib-samples") : defaultCount;
        if (samples < 1) {
            throw new UsageException("--calib-samples must be at least 1, got " + samples);
        }
        return samples;
    }

    /** E.g. "512 sentences of 6-50 words from 32 State of the Union addresses, split seed 1790". */
    private static String describe(SotuCorpus.Split split) {
        return split.calibrationDescription() + ", split seed " + SotuCorpus.DEFAULT_SEED;
    }

    /** The non-blank lines of {@code --option FILE}, stripped. */
    private static List<String> lines(String option, String value) throws IOException {
        Path file = Path.of(value);
        if (!Files.exists(file)) {
            throw new UsageException("--" + option + " " + value + ": no such file (give a text file with one sentence "
                    + "or passage per line" + (option.equals("calib") ? ", or --calib " + SENTENCES + " / --calib " + PASSAGES : "")
                    + ")");
        }
        if (!Files.isRegularFile(file)) {
            throw new UsageException("--" + option + " " + value + ": is not a file");
        }
        List<String> lines = Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
        if (lines.isEmpty()) {
            throw new UsageException("--" + option + " " + file + ": the file has no non-blank lines (one sentence or "
                    + "passage per line)");
        }
        return lines;
    }
}
