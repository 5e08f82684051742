package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.data.SotuCorpus;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.WeightSolver;
import org.quant4j.ptq.bert.BertPtq;
import org.quant4j.ptq.bert.BertPtqResult;

/**
 * {@code quant4j ptq --model minilm}: all-MiniLM-L6-v2's 36 dense layers quantized layer by layer
 * ({@link BertPtq}) on State of the Union calibration text ({@link SotuCalibrationOptions}), written as a quant4j
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
        if (cmd.hasOption("held-out-samples")) {
            throw new UsageException("--held-out-samples applies to DL4J model zips, not minilm");
        }
        ClaqParams claq = PtqCommand.claqParams(cmd, method);
        SotuCorpus.Split split = SotuCalibrationOptions.split(cmd, SotuCorpus.DEFAULT_EVALUATION_SENTENCES);
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
        String label = method;
        // PtqCommand.solver refuses these options for the methods they do not apply to
        if (cmd.hasOption("act-order") || cmd.hasOption("range") || cmd.hasOption("awq-gptq")) {
            WeightSolver solver = PtqCommand.solver(cmd, method);
            builder.solver(solver);
            label = solver.name();
        }
        List<String> calibration = split.calibration();
        builder.calibration(calibration).calibrationDescription(SotuCalibrationOptions.describe(split));
        MiniLm model = MiniLm.load();
        out.printf("%s: %d layers, %d quantization targets; %s %s, %d calibration %ss (<= %d tokens)%n",
                BertPtq.MODEL_NAME, model.encoder().layerCount(), model.encoder().targets().size(), label,
                spec == null ? claq : spec.shortName(), calibration.size(), split.unit().label(), maxTokens);
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
