package org.quant4j.model.llm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * llama.cpp's own tokenizer test vectors ({@code models/ggml-vocab-*.gguf.inp / .out} of llama.cpp 80fb11ac, from
 * npm node-llama-cpp@3.21.1, fetched by scripts/fetch-llama-vocab.sh): every input encodes to exactly llama.cpp's
 * ids, with {@code tests/test-tokenizer-0.cpp}'s call {@code common_tokenize(ctx, text, add_special = false,
 * parse_special = false)}.
 */
class LlamaTokenizerVectorsTest {
    /** Cases (by index) known not to match, per vocabulary; this list may only shrink. */
    private static final Map<String, List<Integer>> KNOWN_FAILURES = Map.of();

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2", "mpt", "starcoder", "refact"})
    void encodesEveryCaseAsLlamaCpp(String vocab) throws IOException {
        LlamaTokenizer tokenizer = LlamaVocabs.tokenizer(vocab);
        List<LlamaVocabs.Case> cases = LlamaVocabs.cases(vocab);
        List<Integer> failed = new ArrayList<>();
        StringBuilder report = new StringBuilder();
        for (LlamaVocabs.Case c : cases) {
            int[] ids = tokenizer.encode(c.text(), false, false);
            if (!Arrays.equals(ids, c.ids())) {
                failed.add(c.index());
                report.append("\n  ").append(c).append("\n    expected ").append(Arrays.toString(c.ids()))
                        .append("\n    got      ").append(Arrays.toString(ids));
            }
        }
        System.out.printf("%s: %d of %d llama.cpp test vectors match%s%n", vocab, cases.size() - failed.size(),
                cases.size(), report);
        assertThat(cases).hasSizeGreaterThan(40);
        assertThat(failed).as("failing cases of %s%s", vocab, report)
                .containsExactlyElementsOf(KNOWN_FAILURES.getOrDefault(vocab, List.of()));
    }
}
