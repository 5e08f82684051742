package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.examples.minilm.MiniLmEvalReport;
import org.quant4j.examples.minilm.MiniLmEvalRow;
import org.quant4j.examples.minilm.MiniLmEvaluation;
import org.quant4j.model.data.SotuCorpus;

/**
 * {@code quant4j eval --model minilm}: sentence-embedding fidelity of all-MiniLM-L6-v2 models to fp32 on the SOTU
 * evaluation sentences. Without {@code --quantized}: the fp32 row and ONNX Runtime's int8 peer; with it: that model
 * file's row. Rows are printed as a Markdown table as they finish, and with {@code --out} also written as a report.
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
        Path quantizedFile = cmd.hasOption("quantized") ? Path.of(cmd.getOptionValue("quantized")) : null;
        QuantizedModel quantized = quantizedFile == null ? null : ModelFileReader.read(quantizedFile);

        SotuCorpus.Split split = SotuCorpus.load().split(SotuCorpus.DEFAULT_SEED,
                SotuCorpus.DEFAULT_CALIBRATION_PASSAGES, sentences);
        out.printf(Locale.ROOT, "%s on %d SOTU evaluation sentences (seed %d): sentence-embedding fidelity to fp32%n",
                MiniLmEvaluation.MODEL_NAME, sentences, SotuCorpus.DEFAULT_SEED);
        long start = System.nanoTime();
        MiniLmEvaluation eval = MiniLmEvaluation.prepare(split.evaluation());
        out.printf(Locale.ROOT, "fp32 embeddings in %.1f s%n", (System.nanoTime() - start) / 1e9);
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("evaluation", sentences + " SOTU sentences, seed " + SotuCorpus.DEFAULT_SEED);
        settings.put("command", command(cmd));
        MiniLmEvalReport report = cmd.hasOption("out")
                ? new MiniLmEvalReport(Path.of(cmd.getOptionValue("out")), settings) : null;
        out.print(MiniLmEvalRow.markdownHeader());
        emit(eval.fp32Row(), out, report);
        if (quantized == null) {
            emit(eval.ortInt8Row(threads), out, report);
        } else {
            emit(eval.quantizedRow(quantized, Files.size(quantizedFile), Double.NaN), out, report);
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

    static void emit(MiniLmEvalRow row, PrintStream out, MiniLmEvalReport report) throws java.io.IOException {
        out.println(row.markdown());
        out.flush();
        if (report != null) {
            report.append(row);
        }
    }
}
