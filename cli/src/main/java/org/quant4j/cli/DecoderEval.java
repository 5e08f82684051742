package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.eval.decoder.DecoderFidelity;
import org.quant4j.model.llm.LlamaDecoder;

/**
 * {@code quant4j eval --model FILE.gguf --text FILE [--quantized q.q4j] [--ctx N]}: perplexity of the decoder on the
 * text as llama.cpp's {@code llama-perplexity} computes it, and with {@code --quantized} the quantized model's
 * perplexity, mean KL divergence from fp32 and top-1 agreement ({@link DecoderFidelity}).
 */
final class DecoderEval {
    static final int DEFAULT_CTX = 128;

    private DecoderEval() {
    }

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        DecoderModelOptions.refuseEncoderOptions(cmd);
        if (!cmd.hasOption("text")) {
            throw new UsageException("--model " + cmd.getOptionValue("model") + " is evaluated on --text FILE (held-out "
                    + "text the calibration never saw)");
        }
        Path textFile = Path.of(cmd.getOptionValue("text"));
        if (!Files.isRegularFile(textFile)) {
            throw new UsageException("--text " + textFile + ": no such file");
        }
        DecoderModelOptions.Decoder fp32 = DecoderModelOptions.load(cmd);
        int ctx = cmd.hasOption("ctx") ? SpecOptions.parseInt(cmd, "ctx")
                : Math.min(DEFAULT_CTX, fp32.model().config().contextLength());
        if (ctx > fp32.model().config().contextLength()) {
            throw new UsageException("--ctx " + ctx + " exceeds the model's context of " + fp32.model().config().contextLength());
        }
        int[] tokens = fp32.tokenizer().encode(Files.readString(textFile), false, false);
        out.printf(Locale.ROOT, "%s on %s: %,d tokens, chunks of %d (the second half of each scored)%n", fp32.name(),
                textFile, tokens.length, ctx);
        DecoderFidelity reference = DecoderFidelity.measure(fp32.model(), null, tokens, ctx, fp32.bos());
        out.println("| model | tokens scored | perplexity | mean KL to fp32 | top-1 agreement |");
        out.println("|---|---|---|---|---|");
        out.printf(Locale.ROOT, "| fp32 | %,d | %.4f | – | – |%n", reference.tokens(), reference.perplexity());
        LlamaDecoder quantized = DecoderModelOptions.quantized(cmd);
        if (quantized != null) {
            DecoderFidelity q = DecoderFidelity.measure(quantized, fp32.model(), tokens, ctx, fp32.bos());
            out.printf(Locale.ROOT, "| %s | %,d | %.4f | %.5f | %.3f |%n", cmd.getOptionValue("quantized"), q.tokens(),
                    q.perplexity(), q.meanKl(), q.top1());
        }
        return Main.OK;
    }
}
