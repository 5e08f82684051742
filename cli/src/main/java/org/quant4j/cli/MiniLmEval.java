package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.examples.minilm.MiniLmEvalReport;
import org.quant4j.examples.minilm.MiniLmEvalRow;
import org.quant4j.examples.minilm.MiniLmEvaluation;
import org.quant4j.examples.minilm.MiniLmPtqTable;
import org.quant4j.model.data.SotuCorpus;

/**
 * {@code quant4j eval --model minilm}: sentence-embedding fidelity of all-MiniLM-L6-v2 models to fp32 on the SOTU
 * evaluation sentences. Without {@code --quantized}: the fp32 row and ONNX Runtime's int8 peer; with it: that model
 * file's row; with {@code --table}: also every method and width of {@link MiniLmPtqTable}. Rows are printed as a
 * Markdown table as they finish, and with {@code --out} also written as a report (rewritten after every row).
 */
final class MiniLmEval {
    static final String MODEL = "minilm";

    private MiniLmEval() {
    }

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        if (cmd.hasOption("data")) {
            throw new UsageException("--data is for DL4J models; --model minilm is evaluated on SOTU sentences");
        }
        int sentences = cmd.hasOption("sentences") ? SpecOptions.parseInt(cmd, "sentences")
                : SotuCorpus.DEFAULT_EVALUATION_SENTENCES;
        if (sentences < 2) {
            throw new UsageException("--sentences must be at least 2 (nearest neighbours need two), got " + sentences);
        }
        int threads = cmd.hasOption("threads") ? SpecOptions.parseInt(cmd, "threads")
                : Runtime.getRuntime().availableProcessors();
        if (threads < 1) {
            throw new UsageException("--threads must be at least 1, got " + threads);
        }
        boolean table = cmd.hasOption("table");
        if (table && cmd.hasOption("quantized")) {
            throw new UsageException("--table quantizes the fp32 model itself; it does not take --quantized");
        }
        if (table && !cmd.hasOption("out")) {
            throw new UsageException("--table needs --out DIR for the model files and the report");
        }
        for (String tableOnly : new String[]{"methods", "bits", "claq-bits", "calib", "calib-samples", "bias-correction"}) {
            if (!table && cmd.hasOption(tableOnly)) {
                throw new UsageException("--" + tableOnly + " is for --table only");
            }
        }
        List<MiniLmPtqTable.Entry> entries;
        try {
            entries = table ? MiniLmPtqTable.plan(list(cmd, "methods", MiniLmPtqTable.DEFAULT_METHODS, s -> s),
                    list(cmd, "bits", MiniLmPtqTable.DEFAULT_BITS, Integer::parseInt),
                    list(cmd, "claq-bits", MiniLmPtqTable.DEFAULT_CLAQ_BITS, Double::parseDouble),
                    cmd.hasOption("bias-correction")) : List.of();
        } catch (InvalidSpecException e) {
            throw new UsageException(e.getMessage());
        }
        Path quantizedFile = cmd.hasOption("quantized") ? Path.of(cmd.getOptionValue("quantized")) : null;
        QuantizedModel quantized = quantizedFile == null ? null : ModelFileReader.read(quantizedFile);

        SotuCorpus.Split split = SotuCalibrationOptions.split(cmd, sentences);
        out.printf(Locale.ROOT, "%s on %d SOTU evaluation sentences (seed %d): sentence-embedding fidelity to fp32%n",
                MiniLmEvaluation.MODEL_NAME, sentences, SotuCorpus.DEFAULT_SEED);
        long start = System.nanoTime();
        MiniLmEvaluation eval = MiniLmEvaluation.prepare(split.evaluation());
        out.printf(Locale.ROOT, "fp32 embeddings in %.1f s%n", (System.nanoTime() - start) / 1e9);
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("evaluation", sentences + " SOTU sentences, seed " + SotuCorpus.DEFAULT_SEED);
        settings.put("command", command(cmd));
        if (table) {
            settings.put("calibration", SotuCalibrationOptions.describe(split));
            settings.put("widths", "8 = INT8 symmetric per output channel; 4/3/2 = INT asymmetric, groups of "
                    + MiniLmPtqTable.GROUP + " (every method, HQQ included: its own default is 64); CLAQ: adaptive "
                    + "precision to the average code bits shown");
            settings.put("seed", MiniLmPtqTable.SEED);
            settings.put("biasCorrection", cmd.hasOption("bias-correction"));
        }
        MiniLmEvalReport report = cmd.hasOption("out")
                ? new MiniLmEvalReport(Path.of(cmd.getOptionValue("out")), settings) : null;
        out.print(MiniLmEvalRow.markdownHeader());
        emit(eval.fp32Row(), out, report);
        if (quantized == null) {
            emit(eval.ortInt8Row(threads), out, report);
        } else {
            emit(eval.quantizedRow(quantized, Files.size(quantizedFile), Double.NaN), out, report);
        }
        if (table) {
            MiniLmEvalReport r = report;
            List<MiniLmPtqTable.Failure> failures = MiniLmPtqTable.run(eval, split.calibration(),
                    SotuCalibrationOptions.describe(split), entries, Path.of(cmd.getOptionValue("out")), row -> emit(row, out, r),
                    System.err);
            for (MiniLmPtqTable.Failure f : failures) {
                out.println("failed: " + f.entry().method() + " " + f.entry().label() + ": " + f.message());
            }
            if (!failures.isEmpty()) {
                out.println("report: " + Path.of(cmd.getOptionValue("out")).resolve(MiniLmEvalReport.MARKDOWN_FILE));
                throw new QuantizationException(failures.size() + " of " + entries.size()
                        + " table runs failed (listed above); the report holds the others");
            }
        }
        if (report != null) {
            out.println("report: " + Path.of(cmd.getOptionValue("out")).resolve(MiniLmEvalReport.MARKDOWN_FILE));
        }
        return Main.OK;
    }

    /** The command line as given (options in parse order). */
    private static String command(CommandLine cmd) {
        StringBuilder sb = new StringBuilder("quant4j eval");
        for (Option o : cmd.getOptions()) {
            sb.append(" --").append(o.getLongOpt());
            if (o.getValue() != null) {
                sb.append(' ').append(o.getValue());
            }
        }
        return sb.toString();
    }

    private static <T> List<T> list(CommandLine cmd, String option, List<T> defaults, Function<String, T> parse) {
        if (!cmd.hasOption(option)) {
            return defaults;
        }
        List<T> values = new ArrayList<>();
        for (String part : cmd.getOptionValue(option).split(",")) {
            try {
                values.add(parse.apply(part.trim().toLowerCase(Locale.ROOT)));
            } catch (NumberFormatException e) {
                throw new UsageException("--" + option + ": '" + part + "' is not a number");
            }
        }
        return values;
    }

    static void emit(MiniLmEvalRow row, PrintStream out, MiniLmEvalReport report) throws java.io.IOException {
        out.println(row.markdown());
        out.flush();
        if (report != null) {
            report.append(row);
        }
    }
}
