package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.TextCalibration;
import org.quant4j.model.data.SotuCorpus;
import org.quant4j.model.llm.QuantizableLlama;
import org.quant4j.ptq.Solvers;
import org.quant4j.ptq.WeightSolver;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqResult;

/**
 * {@code quant4j ptq --model FILE.gguf}: a Llama-family decoder's linear layers quantized block by block
 * ({@link PtqPipeline} on {@link QuantizableLlama}) on calibration text ({@link EncoderTextOptions}: SOTU or
 * {@code --calib FILE}), tokenized by the file's own tokenizer, written as a quant4j model file (tensors named as in
 * GGUF, {@code blk.N.attn_q}).
 */
final class DecoderPtq {
    static final int DEFAULT_MAX_TOKENS = 256;

    private DecoderPtq() {
    }

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        DecoderModelOptions.refuseEncoderOptions(cmd);
        if (cmd.hasOption("held-out-samples")) {
            throw new UsageException("--held-out-samples applies to DL4J model zips, not to decoders");
        }
        String method = cmd.getOptionValue("method", "gptq").toLowerCase(Locale.ROOT);
        if (!Solvers.NAMES.contains(method)) {
            throw new UsageException("unknown --method '" + method + "'; methods: " + String.join(", ", Solvers.NAMES));
        }
        ClaqParams claq = PtqCommand.claqParams(cmd, method);
        QuantSpec spec = method.equals("claq") ? null : PtqCommand.spec(cmd, method, method.equals("awq"));
        WeightSolver solver = claq != null ? new Claq(claq) : Solvers.create(method);
        if (cmd.hasOption("act-order") || cmd.hasOption("range") || cmd.hasOption("awq-gptq")) {
            solver = PtqCommand.solver(cmd, method);
        }
        int maxTokens = cmd.hasOption("max-tokens") ? SpecOptions.parseInt(cmd, "max-tokens") : DEFAULT_MAX_TOKENS;
        EncoderTextOptions.Texts texts = EncoderTextOptions.read(cmd, SotuCorpus.DEFAULT_EVALUATION_SENTENCES, false);
        DecoderModelOptions.Decoder d = DecoderModelOptions.load(cmd);
        out.printf("%s: %s, %d blocks, hidden %d; %s %s, %d calibration %ss (<= %d tokens)%n", d.name(),
                d.model().config().architecture(), d.model().config().layers(), d.model().config().hidden(),
                solver.name(), spec == null ? claq : spec.shortName(), texts.calibration().size(), texts.unit(), maxTokens);
        PtqPipeline.Builder builder = PtqPipeline.builder(solver, spec)
                .seed(cmd.hasOption("seed") ? SpecOptions.parseInt(cmd, "seed") : 0)
                .groupFallback(PtqCommand.fallback(cmd.getOptionValue("group-fallback", "refuse")))
                .biasCorrection(cmd.hasOption("bias-correction"))
                .calibration(new TextCalibration(texts.calibration(), maxTokens, texts.calibrationSource()));
        LayerProgress progress = new LayerProgress(out, System.err);
        PtqResult<QuantizableModel> result;
        try {
            result = builder.listener(progress).build().quantize(QuantizableLlama.of(d.name(), d.model(), d.tokenizer()));
        } finally {
            progress.close();
        }
        return PtqCommand.writeOutputs(cmd, out, Path.of(cmd.getOptionValue("out")), result.model(), result.report());
    }
}
