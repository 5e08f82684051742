package org.quant4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.data.SotuCorpus;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.GridSolver;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.TextCalibration;
import org.quant4j.model.bert.Pooling;
import org.quant4j.model.bert.QuantizableBert;
import org.quant4j.model.bert.SentenceEncoder;
import org.quant4j.ptq.Solvers;
import org.quant4j.ptq.WeightSolver;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqResult;

/**
 * {@code quant4j ptq --model minilm}: all-MiniLM-L6-v2's 36 dense layers quantized layer by layer
 * ({@link PtqPipeline} on {@link QuantizableBert}) on State of the Union calibration text ({@link SotuCalibrationOptions}), written as a quant4j
 * model file (tensors named as the PyTorch {@code state_dict}) and optionally a report directory.
 */
final class EncoderPtq {
    static final String MODEL = "minilm";
    static final String MODEL_NAME = "all-MiniLM-L6-v2";
    static final int DEFAULT_MAX_TOKENS = 128;

    private EncoderPtq() {}

    /** {@code --model minilm} (the built-in all-MiniLM-L6-v2) or {@code --model path/to/encoder.onnx}. */
    static boolean wanted(String model) {
        return model.toLowerCase(Locale.ROOT).equals(MODEL) || model.toLowerCase(Locale.ROOT).endsWith(".onnx");
    }

    /** The encoder the command names, with its tokenizer; a user's ONNX file is checked against ONNX Runtime. */
    private static SentenceEncoder load(CommandLine cmd, PrintStream out) {
        String name = cmd.getOptionValue("model");
        Pooling pooling = cmd.hasOption("pooling") ? Pooling.parse(cmd.getOptionValue("pooling")) : Pooling.MEAN;
        if (name.equalsIgnoreCase(MODEL)) {
            if (cmd.hasOption("tokenizer")) {
                throw new UsageException("--tokenizer goes with --model FILE.onnx; minilm brings its own");
            }
            return MiniLm.load().sentenceEncoder();
        }
        if (!cmd.hasOption("tokenizer")) {
            throw new UsageException("--model " + name + " needs --tokenizer FILE (the model's tokenizer.json)");
        }
        SentenceEncoder encoder = SentenceEncoder.load(Path.of(name), Path.of(cmd.getOptionValue("tokenizer")), pooling);
        out.println("fp32 forward vs ONNX Runtime: " + encoder.onnxRuntimeAgreement(2));
        return encoder;
    }

    /** {@code --calib FILE}: one sequence per non-blank line; else the State of the Union split. */
    private static List<String> userText(CommandLine cmd) throws IOException {
        String calib = cmd.getOptionValue("calib", "");
        Path file = Path.of(calib);
        if (calib.isEmpty() || !Files.isRegularFile(file)) {
            return null;
        }
        List<String> lines = Files.readAllLines(file).stream().map(String::strip)
                .filter(l -> !l.isEmpty()).toList();
        if (lines.isEmpty()) {
            throw new UsageException("--calib " + file + ": the file has no non-blank lines (one sentence or passage per line)");
        }
        return lines;
    }

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        Path outFile = Path.of(cmd.getOptionValue("out"));
        String method = cmd.getOptionValue("method", "gptq").toLowerCase(Locale.ROOT);
        if (!Solvers.NAMES.contains(method)) {
            throw new UsageException("unknown --method '" + method + "' for minilm; methods: "
                    + String.join(", ", Solvers.NAMES));
        }
        if (cmd.hasOption("held-out-samples")) {
            throw new UsageException("--held-out-samples applies to DL4J model zips, not minilm");
        }
        ClaqParams claq = PtqCommand.claqParams(cmd, method);
        List<String> own = userText(cmd);
        SotuCorpus.Split split = own != null ? null
                : SotuCalibrationOptions.split(cmd, SotuCorpus.DEFAULT_EVALUATION_SENTENCES);
        int maxTokens = cmd.hasOption("max-tokens") ? SpecOptions.parseInt(cmd, "max-tokens") : DEFAULT_MAX_TOKENS;
        long seed = cmd.hasOption("seed") ? SpecOptions.parseInt(cmd, "seed") : 0;
        QuantSpec spec = method.equals("claq") ? null
                : PtqCommand.spec(cmd, method, method.equals("awq")); // AutoAWQ: zero_point=True
        WeightSolver solver = claq != null ? new Claq(claq) : Solvers.create(method);
        // PtqCommand.solver refuses these options for the methods they do not apply to
        if (cmd.hasOption("act-order") || cmd.hasOption("range") || cmd.hasOption("awq-gptq")) {
            solver = PtqCommand.solver(cmd, method);
        }
        String label = solver.name();
        List<String> calibration = own != null ? own : split.calibration();
        String source = own != null ? cmd.getOptionValue("calib") : SotuCalibrationOptions.describe(split);
        String unit = own != null ? "line" : split.unit().label();
        PtqPipeline.Builder builder = PtqPipeline.builder(solver, spec).seed(seed)
                .groupFallback(PtqCommand.fallback(cmd.getOptionValue("group-fallback", "refuse")))
                .biasCorrection(cmd.hasOption("bias-correction")) // the option is defined by PtqCommand
                .calibration(new TextCalibration(calibration, maxTokens, source));
        SentenceEncoder model = load(cmd, out);
        String modelName = cmd.getOptionValue("model").equalsIgnoreCase(MODEL) ? MODEL_NAME
                : Path.of(cmd.getOptionValue("model")).getFileName().toString();
        out.printf("%s: %d layers, %d quantization targets; %s %s, %d calibration %ss (<= %d tokens)%n",
                modelName, model.encoder().layerCount(), model.encoder().targets().size(), label,
                spec == null ? claq : spec.shortName(), calibration.size(), unit, maxTokens);
        LayerProgress progress = new LayerProgress(out, System.err);
        PtqResult<QuantizableModel> result;
        try {
            result = builder.listener(progress).build().quantize(QuantizableBert.of(modelName, model.encoder(), model.tokenizer()));
        } finally {
            progress.close();
        }
        return PtqCommand.writeOutputs(cmd, out, outFile, result.model(), result.report());
    }
}
