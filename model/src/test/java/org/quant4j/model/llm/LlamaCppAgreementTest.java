package org.quant4j.model.llm;

import static org.assertj.core.api.Assertions.assertThat;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.model.llm.tokenizer.LlamaTokenizer;

/**
 * Our decoder against llama.cpp itself (b4916 through {@code de.kherud:llama:4.1.0}) on the same F32 GGUF file, for a
 * {@code llama} and a {@code qwen2} decoder at real shapes with seeded random weights: llama.cpp tokenizes the prompt,
 * both generate 64 tokens greedily (llama.cpp with temperature 0, no penalties, a float32 KV cache), and the texts must
 * be equal. (Token probabilities are not compared here: {@code de.kherud:llama:4.1.0} aborts the JVM in its JSON code
 * when {@code n_probs > 0} is requested; see docs/decoder.md.)
 */
class LlamaCppAgreementTest {
    private static final int TOKENS = 64;
    private static final String PROMPT = "w12 w7 w300 w45 w45 w99";

    @TempDir
    Path dir;

    @Test
    void llamaGreedyTokensEqualLlamaCpps() throws IOException {
        agree(new LlamaConfig("llama", 1, 256, 2, 4, 2, 512, 1e-5f, 10_000f, 1f, LlamaConfig.RopeStyle.NORMAL, 512), false);
    }

    @Test
    void qwen2GreedyTokensEqualLlamaCpps() throws IOException {
        agree(new LlamaConfig("qwen2", 1, 256, 2, 4, 2, 512, 1e-6f, 1_000_000f, 1f, LlamaConfig.RopeStyle.NEOX, 512), true);
    }

    private void agree(LlamaConfig shape, boolean qkvBias) throws IOException {
        Path file = dir.resolve(shape.architecture() + ".gguf");
        SyntheticDecoders.write(file, shape, qkvBias, false, 11);
        LlamaDecoder ours = GgufDecoders.load(file);

        int[] prompt;
        String theirText;
        ModelParameters mp = new ModelParameters().setModel(file.toString()).setGpuLayers(0).setThreads(2)
                .setCtxSize(shape.contextLength()).setCacheTypeK(CacheType.F32).setCacheTypeV(CacheType.F32);
        try (LlamaModel llama = new LlamaModel(mp)) {
            prompt = llama.encode(PROMPT);
            theirText = llama.complete(new InferenceParameters(PROMPT).setNPredict(TOKENS).setTemperature(0f)
                    .setRepeatPenalty(1f).setFrequencyPenalty(0f).setPresencePenalty(0f).setIgnoreEos(true).setSeed(1));
        }
        assertThat(SyntheticDecoders.decode(prompt)).as("llama.cpp's tokens of the prompt").isEqualTo(" " + PROMPT);
        LlamaTokenizer tokenizer = LlamaTokenizer.read(file);
        assertThat(tokenizer.encode(PROMPT, true, false)).as("our tokenizer on the file's vocabulary").containsExactly(prompt);

        int[] generated = ours.greedy(prompt, TOKENS);
        String ourText = SyntheticDecoders.decode(generated);
        int[] all = java.util.stream.IntStream.concat(java.util.Arrays.stream(prompt), java.util.Arrays.stream(generated))
                .toArray();
        assertThat(tokenizer.decode(all, false, false)).as("our detokenizer (control tokens not rendered)")
                .isEqualTo(PROMPT + ourText);
        System.out.printf("%s: llama.cpp and quant4j, %d greedy tokens: %s%n", shape.architecture(), TOKENS,
                ourText.length() > 120 ? ourText.substring(0, 120) + "..." : ourText);
        assertThat(ourText).as("greedy text").isEqualTo(theirText);
    }
}
