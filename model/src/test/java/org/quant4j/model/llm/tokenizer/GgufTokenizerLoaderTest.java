package org.quant4j.model.llm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.core.io.gguf.GgufValue;
import org.quant4j.core.io.gguf.GgufWriter;

/** Bad tokenizer metadata is refused with one line naming the file and the value; small vocabularies load. */
class GgufTokenizerLoaderTest {
    @TempDir
    Path dir;

    @Test
    void aGgufWithoutTokenizerMetadataIsRefused() throws IOException {
        Path file = write(w -> {});
        assertThatThrownBy(() -> LlamaTokenizer.read(file))
                .isInstanceOf(UnsupportedTokenizerException.class)
                .hasMessage(file + ": no tokenizer.ggml.model: the file describes no tokenizer");
    }

    @Test
    void anUnknownTokenizerModelIsRefusedByName() throws IOException {
        Path file = write(w -> w.put("tokenizer.ggml.model", GgufValue.string("rwkv"))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(List.of("a", "b"))));
        assertThatThrownBy(() -> LlamaTokenizer.read(file))
                .isInstanceOf(UnsupportedTokenizerException.class)
                .hasMessageStartingWith(file + ": tokenizer.ggml.model 'rwkv' is not a tokenizer quant4j implements")
                .hasMessageNotContaining("\n");
    }

    @Test
    void anUnknownOrMissingPreTokenizerIsRefused() throws IOException {
        Path unknown = write(w -> bpe(w).put("tokenizer.ggml.pre", GgufValue.string("kimi-k2")));
        assertThatThrownBy(() -> LlamaTokenizer.read(unknown))
                .isInstanceOf(UnsupportedTokenizerException.class)
                .hasMessageStartingWith(unknown + ": tokenizer.ggml.pre 'kimi-k2' is not a pre-tokenizer quant4j implements")
                .hasMessageNotContaining("\n");
        Path missing = write(w -> bpe(w));
        assertThatThrownBy(() -> LlamaTokenizer.read(missing))
                .isInstanceOf(UnsupportedTokenizerException.class)
                .hasMessageStartingWith(missing + ": no tokenizer.ggml.pre");
    }

    @Test
    void byteLevelBpeNeedsMerges() throws IOException {
        Path file = write(w -> w.put("tokenizer.ggml.model", GgufValue.string("gpt2"))
                .put("tokenizer.ggml.pre", GgufValue.string("gpt-2"))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(List.of("a", "b"))));
        assertThatThrownBy(() -> LlamaTokenizer.read(file))
                .isInstanceOf(UnsupportedTokenizerException.class)
                .hasMessage(file + ": no tokenizer.ggml.merges: the tokenizer.ggml.model 'gpt2' tokenizer needs it");
    }

    @Test
    void malformedArraysAreCorrupt() throws IOException {
        Path tokens = write(w -> w.put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.int32Array(1, 2)));
        assertThatThrownBy(() -> LlamaTokenizer.read(tokens))
                .isInstanceOf(CorruptFileException.class)
                .hasMessageStartingWith(tokens + ": tokenizer.ggml.tokens must be an array of [STRING]");
        Path scores = write(w -> w.put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(List.of("a", "b")))
                .put("tokenizer.ggml.scores", GgufValue.float32Array(1f)));
        assertThatThrownBy(() -> LlamaTokenizer.read(scores))
                .isInstanceOf(CorruptFileException.class)
                .hasMessage(scores + ": tokenizer.ggml.scores has 1 values for 2 tokens");
    }

    /** A tiny byte-level BPE vocabulary: merges by rank, GPT-2's byte map, and the file's special ids. */
    @Test
    void aSmallByteLevelVocabularyLoadsAndTokenizes() throws IOException {
        Path file = write(w -> bpe(w).put("tokenizer.ggml.pre", GgufValue.string("gpt-2"))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(0)));
        LlamaTokenizer t = LlamaTokenizer.read(file);
        assertThat(t.encode(" ab a", false, false)).containsExactly(4, 3);   // "Ġab" then "Ġa"
        assertThat(t.decode(new int[] {4, 3})).isEqualTo(" ab a");
        assertThat(t.config().eos()).isZero();
        assertThat(t.config().bos()).isEqualTo(-1); // the BPE default, 11, is outside this vocabulary
        assertThat(t.toString()).contains("gpt2 (pre-tokenizer gpt-2), 6 tokens");
    }

    private static GgufWriter bpe(GgufWriter w) {
        return w.put("tokenizer.ggml.model", GgufValue.string("gpt2"))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(List.of("<|endoftext|>", "a", "\u0120", "\u0120a", "\u0120ab", "b")))
                .put("tokenizer.ggml.token_type", GgufValue.int32Array(3, 1, 1, 1, 1, 1))
                .put("tokenizer.ggml.merges", GgufValue.stringArray(List.of("\u0120 a", "\u0120a b")));
    }

    private Path write(Consumer<GgufWriter> metadata) throws IOException {
        GgufWriter w = new GgufWriter().put("general.architecture", GgufValue.string("llama"));
        metadata.accept(w);
        Path file = dir.resolve("t" + System.nanoTime() + ".gguf");
        w.write(file);
        return file;
    }
}
