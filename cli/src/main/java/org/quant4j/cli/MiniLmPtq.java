package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.data.SotuCorpus;
import org.quant4j.ptq.ClaqParams;
import org.quant4j.ptq.bert.BertPtq;
import org.quant4j.ptq.bert.BertPtqResult;

/**
 * {@code quant4j ptq --model minilm}: all-MiniLM-L6-v2's 36 dense layers quantized layer by layer
 * ({@link BertPtq}) on State of the Union calibration passages ({@link SotuCorpus}), written as a quant4j
 * model file (tensors named as the PyTorch {@code state_dict}) and optionally a report directory.
 */
final class MiniLmPtq {
    static final String MODEL = "minilm";

    private MiniLmPtq() {}

    static boolean wanted(String model) {
        return model.toLowerCase(Locale.ROOT).equals(MODEL);
    }

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        Path outFile = Path.of(cmd.getOptionValue("out"));
        String method = cmd.getOptionValue("method", "gptq").toLowerCase(Locale.ROOT);
        if (!BertPtq.METHODS.contains(method)) {
            throw new UsageException("unknown --method '" + method + "' for minilm; methods: "
                    + String.join(", ", BertPtq.METHODS));
        }
        if (cmd.hasOption("calib") && !cmd.getOptionValue("calib").equalsIgnoreCase("sotu")) {
            throw new UsageException("minilm calibrates on State of the Union passages: --calib sotu (or leave it out)");
        }
        if (cmd.hasOption("held-out-samples")) {
            throw new UsageException("--held-out-samples applies to DL4J model zips, not minilm");
        }
        ClaqParams claq = PtqCommand.claqParams(cmd, method);
        int passages = cmd.hasOption("calib-samples") ? SpecOptions.parseInt(cmd, "calib-samples")
                : SotuCorpus.DEFAULT_CALIBRATION_PASSAGES;
        if (passages < 1) {
            throw new UsageException("--calib-samples must be at least 1, got " + passages);
        }
        int maxTokens = cmd.hasOption("max-tokens") ? SpecOptions.parseInt(cmd, "max-tokens") : BertPtq.DEFAULT_MAX_TOKENS;
        long seed = cmd.hasOption("seed") ? SpecOptions.parseInt(cmd, "seed") : 0;
        QuantSpec spec = method.equals("claq") ? null
                : PtqCommand.spec(cmd, method, method.equals("awq")); // AutoAWQ: zero_point=True
        BertPtq.Builder builder = BertPtq.builder(method, spec).seed(seed).maxTokens(maxTokens)
                .groupFallback(PtqCommand.fallback(cmd.getOptionValue("group-fallback", "refuse")));
        if (claq != null) {
            builder.claq(claq);
        }
        builder.biasCorrection(cmd.hasOption("bias-correction")); // the option is defined by PtqCommand
        if (cmd.hasOption("act-order") || cmd.hasOption("range")) { // refused for methods they do not apply to
            builder.solver(PtqCommand.solver(cmd, method));
        }
        SotuCorpus.Split split = SotuCorpus.load().split(SotuCorpus.DEFAULT_SEED, passages,
                SotuCorpus.DEFAULT_EVALUATION_SENTENCES);
        List<String> calibration = split.calibration();
        builder.calibration(calibration).calibrationDescription("State of the Union, " + SotuCorpus.PASSAGE_WORDS
                + "-word passages, split seed " + SotuCorpus.DEFAULT_SEED);
        MiniLm model = MiniLm.load();
        out.printf("%s: %d layers, %d quantization targets; %s %s, %d calibration passages (<= %d tokens)%n",
                BertPtq.MODEL_NAME, model.encoder().layerCount(), model.encoder().targets().size(), method,
                spec == null ? claq : spec.shortName(), calibration.size(), maxTokens);
        LayerProgress progress = new LayerProgress(out, System.err);
        BertPtqResult result;
        try {
            result = builder.listener(progress).build().quantize(model);
        } finally {
            progress.close();
        }
        return PtqCommand.writeOutputs(cmd, out, outFile, result.model(), result.report());
    }
}
