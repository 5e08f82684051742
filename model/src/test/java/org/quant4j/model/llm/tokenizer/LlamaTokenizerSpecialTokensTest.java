package org.quant4j.model.llm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * BOS / EOS, special tokens written in the text, special pieces when decoding and the end-of-generation set, on the
 * real vocabularies, as llama.cpp's {@code llama_vocab::impl::tokenize} / {@code detokenize} treat them.
 */
class LlamaTokenizerSpecialTokensTest {

    @Test
    void addSpecialPrependsBosWhereTheModelDoes() {
        LlamaTokenizer llama3 = LlamaVocabs.tokenizer("llama-bpe");
        assertThat(llama3.encode("Hello", true, false)).containsExactly(128000, 9906);
        assertThat(llama3.encode("Hello", false, false)).containsExactly(9906);
        LlamaTokenizer llama2 = LlamaVocabs.tokenizer("llama-spm");
        assertThat(llama2.encode("Hello world", true, false)).containsExactly(1, 15043, 3186);
        LlamaTokenizer gpt2 = LlamaVocabs.tokenizer("gpt-2");
        assertThat(gpt2.config().addBos()).isFalse();
        assertThat(gpt2.encode("Hello", true, false)).isEqualTo(gpt2.encode("Hello", false, false));
    }

    @Test
    void controlTokensInTheTextAreTokensOnlyWhenParsed() {
        LlamaTokenizer qwen = LlamaVocabs.tokenizer("qwen2");
        int start = qwen.vocabulary().id("<|im_start|>");
        int end = qwen.vocabulary().id("<|im_end|>");
        assertThat(start).isEqualTo(151644);
        int[] inner = qwen.encode("user\nHi", false, false);
        assertThat(qwen.encode("<|im_start|>user\nHi<|im_end|>", false, true))
                .containsExactly(IntStream.concat(IntStream.concat(IntStream.of(start), IntStream.of(inner)), IntStream.of(end)).toArray());
        assertThat(qwen.encode("<|im_start|>user\nHi<|im_end|>", false, false)).doesNotContain(start, end);
    }

    @Test
    void sentencePieceGivesTheTextAfterASpecialTokenASpacePrefix() {
        LlamaTokenizer llama2 = LlamaVocabs.tokenizer("llama-spm");
        assertThat(llama2.encode("<s>Hello", false, true)).containsExactly(1, 15043); // "▁Hello"
        assertThat(llama2.encode("<s>Hello", false, false)).doesNotContain(1);
    }

    @Test
    void phi3SpecialTokensStripTheWhitespaceAfterThem() {
        LlamaTokenizer phi3 = LlamaVocabs.tokenizer("phi-3");
        int user = phi3.vocabulary().id("<|user|>");
        assertThat(phi3.vocabulary().hasAttribute(user, TokenAttributes.RSTRIP)).isTrue();
        int[] hi = phi3.encode("Hi", false, false);
        assertThat(phi3.encode("<|user|>\n  Hi", false, true))
                .containsExactly(IntStream.concat(IntStream.of(user), IntStream.of(hi)).toArray());
    }

    @Test
    void decodeRendersOrHidesSpecialPieces() {
        LlamaTokenizer llama3 = LlamaVocabs.tokenizer("llama-bpe");
        int[] ids = {128000, 9906, 1917, 128009};
        assertThat(llama3.decode(ids)).isEqualTo("<|begin_of_text|>Hello world<|eot_id|>");
        assertThat(llama3.decode(ids, false, false)).isEqualTo("Hello world");
        assertThat(llama3.decode(ids, true, true)).isEqualTo("Hello world<|eot_id|>");
        assertThat(new String(llama3.piece(1917, false), StandardCharsets.UTF_8)).isEqualTo(" world");
        assertThat(llama3.piece(128000, false)).isEmpty();
    }

    /** llama.cpp drops the space prefix of the first piece only when no BOS was removed before it. */
    @Test
    void sentencePieceDecodeDropsTheSpacePrefixAsLlamaCpp() {
        LlamaTokenizer llama2 = LlamaVocabs.tokenizer("llama-spm");
        assertThat(llama2.decode(new int[] {15043, 3186})).isEqualTo("Hello world");
        assertThat(llama2.decode(new int[] {1, 15043, 3186}, true, false)).isEqualTo(" Hello world");
        assertThat(llama2.decode(new int[] {1, 15043, 3186})).isEqualTo("<s> Hello world");
        assertThat(llama2.decode(new int[] {29871, 243, 162, 169, 156})).isEqualTo("\uD83E\uDD99"); // byte tokens of 🦙
    }

    @Test
    void endOfGenerationTokens() {
        LlamaTokenizer llama3 = LlamaVocabs.tokenizer("llama-bpe");
        assertThat(llama3.isEndOfGeneration(128001)).isTrue();  // <|end_of_text|>, EOS
        assertThat(llama3.isEndOfGeneration(128009)).isTrue();  // <|eot_id|>
        assertThat(llama3.isEndOfGeneration(9906)).isFalse();
        LlamaTokenizer qwen = LlamaVocabs.tokenizer("qwen2");
        assertThat(qwen.isEndOfGeneration(qwen.vocabulary().id("<|im_end|>"))).isTrue();
        assertThat(qwen.config().eos()).isEqualTo(151643);
        assertThat(qwen.config().cleanSpaces()).isFalse();
    }

    @Test
    void spaceCleanupAsLlamaCppDetokenize() {
        assertThat(clean("Hello , world ! Yes . No ?")).isEqualTo("Hello, world! Yes. No?");
        assertThat(clean("a ' b")).isEqualTo("a'b");
        assertThat(clean("it 's we 're I 'm they 've")).isEqualTo("it's we're I'm they've");
        assertThat(clean("don 't I 'd we 'll")).isEqualTo("don 't I 'd we 'll");
        assertThat(clean("")).isEmpty();
    }

    private static String clean(String s) {
        return new String(SpaceCleanup.apply(s.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }
}
