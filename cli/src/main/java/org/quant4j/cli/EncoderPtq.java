package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.TextCalibration;
import org.quant4j.model.bert.QuantizableBert;
import org.quant4j.model.bert.SentenceEncoder;
import org.quant4j.model.data.SotuCorpus;
import org.quant4j.ptq.Solvers;
import org.quant4j.ptq.WeightSolver;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqResult;

/**
 * {@code quant4j ptq --model minilm | FILE.onnx --tokenizer tokenizer.json}: a sentence encoder's dense layers
 * quantized layer by layer ({@link PtqPipeline} on {@link QuantizableBert}) on calibration text
 * ({@link EncoderTextOptions}), written as a quant4j model file (tensors named as the PyTorch {@code state_dict})
 * and optionally a report directory.
 */
final class EncoderPtq {
    static final int DEFAULT_MAX_TOKENS = 128;

    private EncoderPtq() {}

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        Path outFile = Path.of(cmd.getOptionValue("out"));
        String method = cmd.getOptionValue("method", "gptq").toLowerCase(Locale.ROOT);
        if (!Solvers.NAMES.contains(method)) {
            throw new UsageException("unknown --method '" + method + "'; methods: " + String.join(", ", Solvers.NAMES));
        }
        if (cmd.hasOption("held-out-samples")) {
            throw new UsageException("--held-out-samples applies to DL4J model zips, not to sentence encoders");
        }
        ClaqParams claq = PtqCommand.claqParams(cmd, method);
        EncoderTextOptions.Texts texts = EncoderTextOptions.read(cmd, SotuCorpus.DEFAULT_EVALUATION_SENTENCES, false);
        int maxTokens = cmd.hasOption("max-tokens") ? SpecOptions.parseInt(cmd, "max-tokens") : DEFAULT_MAX_TOKENS;
        long seed = cmd.hasOption("seed") ? SpecOptions.parseInt(cmd, "seed") : 0;
        QuantSpec spec = method.equals("claq") ? null
                : PtqCommand.spec(cmd, method, method.equals("awq")); // AutoAWQ: zero_point=True
        WeightSolver solver = claq != null ? new Claq(claq) : Solvers.create(method);
        // PtqCommand.solver refuses these options for the methods they do not apply to
        if (cmd.hasOption("act-order") || cmd.hasOption("range") || cmd.hasOption("awq-gptq")) {
            solver = PtqCommand.solver(cmd, method);
        }
        PtqPipeline.Builder builder = PtqPipeline.builder(solver, spec).seed(seed)
                .groupFallback(PtqCommand.fallback(cmd.getOptionValue("group-fallback", "refuse")))
                .biasCorrection(cmd.hasOption("bias-correction")) // the option is defined by PtqCommand
                .calibration(new TextCalibration(texts.calibration(), maxTokens, texts.calibrationSource()));
        SentenceEncoder model = EncoderModelOptions.load(cmd, out);
        String modelName = EncoderModelOptions.name(cmd);
        out.printf("%s: %d layers, %d quantization targets; %s %s, %d calibration %ss (<= %d tokens)%n",
                modelName, model.encoder().layerCount(), model.encoder().targets().size(), solver.name(),
                spec == null ? claq : spec.shortName(), texts.calibration().size(), texts.unit(), maxTokens);
        LayerProgress progress = new LayerProgress(out, System.err);
        PtqResult<QuantizableModel> result;
        try {
            result = builder.listener(progress).build()
                    .quantize(QuantizableBert.of(modelName, model.encoder(), model.tokenizer()));
        } finally {
            progress.close();
        }
        return PtqCommand.writeOutputs(cmd, out, outFile, result.model(), result.report());
    }
}
