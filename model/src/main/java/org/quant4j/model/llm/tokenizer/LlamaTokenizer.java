package org.quant4j.model.llm.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.quant4j.core.io.gguf.GgufFile;
import org.quant4j.core.io.gguf.GgufReader;

/**
 * The tokenizer of a decoder LM as its GGUF file describes it, encoding and decoding as llama.cpp does
 * ({@code llama_vocab::impl::tokenize} / {@code detokenize}, {@code src/llama-vocab.cpp}): SentencePiece-style
 * ({@code tokenizer.ggml.model = llama}: Llama 2, Phi-3, ...) or byte-level BPE ({@code gpt2} with a pre-tokenizer:
 * GPT-2, Llama 3, Qwen2, StarCoder, ...). Immutable and safe to share between threads.
 *
 * <pre>{@code
 * LlamaTokenizer t = LlamaTokenizer.read(Path.of("model.gguf"));
 * int[] ids = t.encode("Hello world", true, false);  // with BOS where the model adds it
 * String text = t.decode(ids);
 * }</pre>
 */
public final class LlamaTokenizer {
    private final String name;
    private final Vocabulary vocab;
    private final TokenizerConfig config;
    private final Set<Integer> endOfGeneration;
    private final SpecialTokenSplitter specials;
    private final SpmEncoder spm;
    private final BpeEncoder bpe;
    private final Detokenizer detokenizer;

    LlamaTokenizer(String name, Vocabulary vocab, BpeRanks ranks, TokenizerConfig config, Set<Integer> endOfGeneration) {
        this.name = name;
        this.vocab = vocab;
        this.config = config;
        this.endOfGeneration = Set.copyOf(endOfGeneration);
        this.specials = new SpecialTokenSplitter(vocab);
        this.spm = config.model() == TokenizerModel.SPM ? new SpmEncoder(vocab, name) : null;
        this.bpe = config.model() == TokenizerModel.BPE ? new BpeEncoder(vocab, ranks, config.pre()) : null;
        this.detokenizer = new Detokenizer(vocab, config);
    }

    /**
     * The tokenizer of the GGUF file at {@code path}.
     *
     * @throws UnsupportedTokenizerException if the file has no tokenizer metadata, or a tokenizer model or
     *         pre-tokenizer not implemented here (the message names the file and the value)
     * @throws org.quant4j.core.io.CorruptFileException if the file or its tokenizer metadata is malformed
     */
    public static LlamaTokenizer read(Path path) throws IOException {
        return of(GgufReader.read(path));
    }

    /** The tokenizer {@code file}'s metadata describes; see {@link #read(Path)}. */
    public static LlamaTokenizer of(GgufFile file) {
        return GgufTokenizerLoader.load(file);
    }

    /**
     * The token ids of {@code text}.
     *
     * @param addSpecial add BOS / EOS where the model does ({@link TokenizerConfig#addBos()}, {@link TokenizerConfig#addEos()})
     * @param parseSpecial match control tokens written in the text (such as {@code <|im_start|>}) as those tokens;
     *        user-defined tokens are matched either way, as in llama.cpp
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        List<Integer> out = new ArrayList<>(text.length() / 3 + 2);
        if (addSpecial && config.addBos() && config.bos() >= 0) {
            out.add(config.bos());
        }
        boolean prevSpecial = true; // SentencePiece: a space prefix for the first fragment and any after a token
        for (Fragment f : specials.split(text, parseSpecial)) {
            if (f.isToken()) {
                out.add(f.token());
                prevSpecial = true;
            } else if (spm != null) {
                String piece = config.addSpacePrefix() && prevSpecial ? " " + f.text() : f.text();
                spm.encode(piece.replace(" ", "\u2581"), out);
                prevSpecial = false;
            } else {
                bpe.encode(f.text(), out);
            }
        }
        if (addSpecial && config.addEos() && config.eos() >= 0) {
            out.add(config.eos());
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The text of {@code ids} with special pieces rendered, as llama.cpp's {@code common_detokenize(ctx, ids)}. */
    public String decode(int[] ids) {
        return decode(ids, false, true);
    }

    /**
     * The text of {@code ids} (bytes that are no valid UTF-8 become U+FFFD).
     *
     * @param removeSpecial drop a leading BOS / trailing EOS that the model adds
     * @param unparseSpecial render control and unknown tokens as their text (else they decode to nothing)
     */
    public String decode(int[] ids, boolean removeSpecial, boolean unparseSpecial) {
        return new String(decodeBytes(ids, removeSpecial, unparseSpecial), StandardCharsets.UTF_8);
    }

    /** The bytes of {@code ids}, as {@link #decode(int[], boolean, boolean)} before UTF-8 decoding. */
    public byte[] decodeBytes(int[] ids, boolean removeSpecial, boolean unparseSpecial) {
        return detokenizer.detokenize(ids, removeSpecial, unparseSpecial);
    }

    /** The bytes of one token, as llama.cpp's {@code llama_token_to_piece(vocab, id, buf, n, 0, special)}; for streaming. */
    public byte[] piece(int id, boolean special) {
        return detokenizer.piece(id, special, 0);
    }

    /** Whether generation stops at {@code id} (EOS, EOT, EOM and tokens named like them, as llama.cpp's {@code is_eog}). */
    public boolean isEndOfGeneration(int id) {
        return endOfGeneration.contains(id);
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    public TokenizerConfig config() {
        return config;
    }

    /** The file the tokenizer came from, for messages. */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name + ": " + config.model().ggufName()
                + (config.pre() == null ? "" : " (pre-tokenizer " + config.pre().name() + ")") + ", " + vocab.size() + " tokens";
    }
}
