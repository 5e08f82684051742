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
import java.util.function.Supplier;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.eval.encoder.EncoderEvalReport;
import org.quant4j.eval.encoder.EncoderEvalRow;
import org.quant4j.eval.encoder.EncoderEvaluation;
import org.quant4j.eval.encoder.EncoderPtqTable;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.SentenceEncoder;
import org.quant4j.model.data.SotuCorpus;

/**
 * {@code quant4j eval --model minilm | FILE.onnx --tokenizer tokenizer.json}: sentence-embedding fidelity of a
 * sentence encoder's models to fp32, on held-out SOTU sentences or the user's {@code --text FILE}. Rows: fp32; for
 * minilm without {@code --quantized}, its ONNX Runtime int8 twin; each {@code --peer FILE.onnx} (repeatable: ONNX
 * Runtime's int8 export of a user's encoder, quant4j's {@code export --format onnx} files) run by ONNX Runtime; with {@code --quantized}, that model file's row; with {@code --table}: also every method and width of
 * {@link EncoderPtqTable}. Rows are printed as a Markdown table as they finish, and with {@code --out} also written as
 * a report (rewritten after every row).
 */
final class EncoderEval {
    private EncoderEval() {
    }

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        if (cmd.hasOption("data")) {
            throw new UsageException("--data is for DL4J models; encoders are evaluated on text (SOTU or --text FILE)");
        }
        if (cmd.hasOption("text") && cmd.hasOption("sentences")) {
            throw new UsageException("--sentences counts SOTU evaluation sentences; with --text FILE every line is one");
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
        boolean builtIn = EncoderModelOptions.builtIn(cmd);
        List<EncoderPtqTable.Entry> entries;
        try {
            entries = table ? EncoderPtqTable.plan(list(cmd, "methods", EncoderPtqTable.DEFAULT_METHODS, s -> s),
                    list(cmd, "bits", EncoderPtqTable.DEFAULT_BITS, Integer::parseInt),
                    list(cmd, "claq-bits", EncoderPtqTable.DEFAULT_CLAQ_BITS, Double::parseDouble),
                    cmd.hasOption("bias-correction")) : List.of();
        } catch (InvalidSpecException e) {
            throw new UsageException(e.getMessage());
        }
        Supplier<SentenceEncoder> loader = EncoderModelOptions.loader(cmd);
        Path quantizedFile = cmd.hasOption("quantized") ? Path.of(cmd.getOptionValue("quantized")) : null;
        QuantizedModel quantized = quantizedFile == null ? null : ModelFileReader.read(quantizedFile);
        List<Path> peerFiles = new ArrayList<>();
        for (String peer : cmd.hasOption("peer") ? cmd.getOptionValues("peer") : new String[0]) {
            Path peerFile = Path.of(peer);
            if (!Files.isRegularFile(peerFile)) {
                throw new UsageException("--peer " + peerFile + ": no such file (an ONNX export of the model)");
            }
            peerFiles.add(peerFile);
        }
        EncoderTextOptions.Texts texts = EncoderTextOptions.read(cmd, sentences, true);
        String modelName = EncoderModelOptions.name(cmd);
        out.printf(Locale.ROOT, "%s on %s: sentence-embedding fidelity to fp32%n", modelName, texts.evaluationSource());
        long start = System.nanoTime();
        EncoderEvaluation eval = EncoderEvaluation.prepare(modelName, loader, texts.evaluation());
        if (!builtIn) {
            out.println("fp32 forward vs ONNX Runtime: " + eval.fp32().onnxRuntimeAgreement(2));
        }
        out.printf(Locale.ROOT, "fp32 embeddings in %.1f s%n", (System.nanoTime() - start) / 1e9);
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("model", eval.fp32().toString());
        settings.put("evaluation", texts.evaluationSource());
        settings.put("command", command(cmd));
        if (table) {
            settings.put("calibration", texts.calibrationSource());
            settings.put("widths", "8 = INT8 symmetric per output channel; 4/3/2 = INT asymmetric, groups of "
                    + EncoderPtqTable.GROUP + " (every method, HQQ included: its own default is 64); CLAQ: adaptive "
                    + "precision to the average code bits shown");
            settings.put("seed", EncoderPtqTable.SEED);
            settings.put("biasCorrection", cmd.hasOption("bias-correction"));
        }
        EncoderEvalReport report = cmd.hasOption("out")
                ? new EncoderEvalReport(Path.of(cmd.getOptionValue("out")), modelName, settings) : null;
        out.print(EncoderEvalRow.markdownHeader());
        emit(eval.fp32Row(), out, report);
        if (builtIn && quantized == null) {
            emit(eval.ortInt8Row(MiniLm.readAllBytes(MiniLm.INT8_ONNX_RESOURCE), MiniLm.INT8_ONNX_RESOURCE, threads),
                    out, report);
        }
        for (Path peerFile : peerFiles) {
            emit(eval.ortInt8Row(Files.readAllBytes(peerFile), peerFile.toString(), threads), out, report);
        }
        if (quantized != null) {
            emit(eval.quantizedRow(quantized, Files.size(quantizedFile), Double.NaN), out, report);
        }
        if (table) {
            EncoderEvalReport r = report;
            List<EncoderPtqTable.Failure> failures = EncoderPtqTable.run(eval, texts.calibration(),
                    texts.calibrationSource(), entries, Path.of(cmd.getOptionValue("out")), row -> emit(row, out, r),
                    System.err);
            for (EncoderPtqTable.Failure f : failures) {
                out.println("failed: " + f.entry().method() + " " + f.entry().label() + ": " + f.message());
            }
            if (!failures.isEmpty()) {
                out.println("report: " + Path.of(cmd.getOptionValue("out")).resolve(EncoderEvalReport.MARKDOWN_FILE));
                throw new QuantizationException(failures.size() + " of " + entries.size()
                        + " table runs failed (listed above); the report holds the others");
            }
        }
        if (report != null) {
            out.println("report: " + Path.of(cmd.getOptionValue("out")).resolve(EncoderEvalReport.MARKDOWN_FILE));
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

    static void emit(EncoderEvalRow row, PrintStream out, EncoderEvalReport report) throws java.io.IOException {
        out.println(row.markdown());
        out.flush();
        if (report != null) {
            report.append(row);
        }
    }
}
