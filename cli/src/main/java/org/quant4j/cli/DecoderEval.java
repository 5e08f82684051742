package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.apache.commons.cli.CommandLine;
import org.quant4j.eval.decoder.Degeneration;
import org.quant4j.eval.decoder.DecoderFidelity;
import org.quant4j.model.llm.LlamaDecoder;

/**
 * {@code quant4j eval --model FILE.gguf --text FILE [--quantized q.q4j] [--ctx N]}: perplexity of the decoder on the
 * text as llama.cpp's {@code llama-perplexity} computes it, and with {@code --quantized} the quantized model's
 * perplexity, mean KL divergence from fp32 and top-1 agreement ({@link DecoderFidelity}); with {@code --generations N},
 * how often greedy generation from N prompts of the text degenerates ({@link Degeneration}).
 */
final class DecoderEval {
    static final int DEFAULT_CTX = 128;
    static final int DEFAULT_GEN_TOKENS = 256;
    static final int PROMPT_TOKENS = 16;

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
        int generations = cmd.hasOption("generations") ? SpecOptions.parseInt(cmd, "generations") : 0;
        if (generations > 0) {
            int length = cmd.hasOption("gen-tokens") ? SpecOptions.parseInt(cmd, "gen-tokens") : DEFAULT_GEN_TOKENS;
            List<int[]> prompts = prompts(tokens, generations, fp32.bos());
            if (PROMPT_TOKENS + 1 + length > fp32.model().config().contextLength()) {
                throw new UsageException("--gen-tokens " + length + " and the " + PROMPT_TOKENS + "-token prompts exceed "
                        + "the model's context of " + fp32.model().config().contextLength());
            }
            out.println("fp32:      " + Degeneration.measure(fp32.model(), prompts, length));
            if (quantized != null) {
                out.println("quantized: " + Degeneration.measure(quantized, prompts, length));
            }
        }
        return Main.OK;
    }

    /** {@code n} prompts of {@value #PROMPT_TOKENS} tokens spread evenly over the text, each after the start token. */
    private static List<int[]> prompts(int[] tokens, int n, int bos) {
        if (tokens.length < PROMPT_TOKENS * n) {
            throw new UsageException("--generations " + n + " needs " + PROMPT_TOKENS * n + " tokens of text for its "
                    + "prompts; the text has " + tokens.length);
        }
        List<int[]> prompts = new ArrayList<>();
        int stride = tokens.length / n;
        for (int i = 0; i < n; i++) {
            int[] p = Arrays.copyOfRange(tokens, i * stride, i * stride + PROMPT_TOKENS);
            prompts.add(bos < 0 ? p : IntStream.concat(IntStream.of(bos), Arrays.stream(p)).toArray());
        }
        return prompts;
    }
}
