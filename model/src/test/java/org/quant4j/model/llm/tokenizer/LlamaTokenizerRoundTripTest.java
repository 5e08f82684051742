package org.quant4j.model.llm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Decoding inverts encoding where llama.cpp's does: on every test-vector input, and (for the SentencePiece vocabulary
 * llama.cpp checks so, in {@code tests/test-tokenizer-1-spm.cpp}) on every token's text and every code point.
 */
class LlamaTokenizerRoundTripTest {

    /**
     * {@code common_detokenize(common_tokenize(x))} is x, except that vocabularies which clean up tokenization spaces
     * (GPT-2, Llama 3, MPT, StarCoder, Refact) give x cleaned up: " ?" -> "?" and the like.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2", "mpt", "starcoder", "refact"})
    void decodeInvertsEncodeOnTheTestVectors(String vocab) throws IOException {
        LlamaTokenizer tokenizer = LlamaVocabs.tokenizer(vocab);
        int cleaned = 0;
        for (LlamaVocabs.Case c : LlamaVocabs.cases(vocab)) {
            String expected = c.text();
            if (tokenizer.config().cleanSpaces()) {
                expected = new String(SpaceCleanup.apply(expected.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
                cleaned += expected.equals(c.text()) ? 0 : 1;
            }
            assertThat(tokenizer.decode(tokenizer.encode(c.text(), false, false))).as("%s %s", vocab, c).isEqualTo(expected);
            assertThat(tokenizer.decode(c.ids())).as("%s %s from llama.cpp's ids", vocab, c).isEqualTo(expected);
        }
        System.out.printf("%s: every test vector round-trips (%d of them through the space clean-up)%n", vocab, cleaned);
    }

    /** test-tokenizer-1-spm: each token's text, tokenized with special tokens parsed, detokenizes to that text. */
    @Test
    void everySentencePieceTokenRoundTrips() {
        LlamaTokenizer tokenizer = LlamaVocabs.tokenizer("llama-spm");
        List<Integer> failed = new ArrayList<>();
        for (int id = 0; id < tokenizer.vocabulary().size(); id++) {
            String text = tokenizer.decode(new int[] {id});
            if (!tokenizer.decode(tokenizer.encode(text, false, true)).equals(text)) {
                failed.add(id);
            }
        }
        assertThat(failed).isEmpty();
    }

    /** test-tokenizer-1-spm: every code point but surrogates, U+40000..U+E0000 and ▁ itself round-trips. */
    @Test
    void everyCodePointRoundTripsThroughSentencePiece() {
        LlamaTokenizer tokenizer = LlamaVocabs.tokenizer("llama-spm");
        List<Integer> failed = new ArrayList<>();
        for (int cp = 0; cp < 0x110000; cp++) {
            if ((cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x40000 && cp <= 0xE0000) || cp == 0x2581) {
                continue;
            }
            String text = new String(Character.toChars(cp));
            if (!tokenizer.decode(tokenizer.encode(text, false, true)).equals(text)) {
                failed.add(cp);
            }
        }
        assertThat(failed).isEmpty();
    }
}
