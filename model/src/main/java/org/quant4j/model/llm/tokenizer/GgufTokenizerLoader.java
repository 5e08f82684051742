package org.quant4j.model.llm.tokenizer;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.core.io.PrintableText;
import org.quant4j.core.io.gguf.GgufFile;
import org.quant4j.core.io.gguf.GgufValue;
import org.quant4j.core.io.gguf.GgufValueType;

/**
 * Builds a {@link LlamaTokenizer} from the {@code tokenizer.ggml.*} metadata of a GGUF file, as llama.cpp's
 * {@code llama_vocab::impl::load} ({@code src/llama-vocab.cpp}) does: the model and pre-tokenizer, the tokens with
 * their scores and types, the merges, the special token ids (the model's defaults, replaced by the file's keys when
 * those are in range), the add-BOS / add-EOS / space-prefix flags, and llama.cpp's fix-ups of token attributes (tokens
 * named like an end of generation become control tokens; Phi-3's special tokens strip the whitespace after them).
 * Not carried over: FIM token detection, and the gpt-oss / Gemma 4 end-token workarounds.
 */
final class GgufTokenizerLoader {
    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";

    /** Token texts llama.cpp treats as an end of generation (and so as control tokens). */
    private static final Set<String> END_OF_GENERATION = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>",
            "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
            "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>",
            "<|tool_response>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "[e~[");

    private final Map<String, GgufValue> meta;
    private final String name;

    private GgufTokenizerLoader(GgufFile file) {
        this.meta = file.metadata();
        this.name = file.path().toString();
    }

    static LlamaTokenizer load(GgufFile file) {
        return new GgufTokenizerLoader(file).load();
    }

    private LlamaTokenizer load() {
        GgufValue modelValue = meta.get(MODEL);
        if (modelValue == null) {
            throw unsupported("no " + MODEL + ": the file describes no tokenizer");
        }
        String modelName = string(MODEL, modelValue);
        TokenizerModel model = TokenizerModel.forGgufName(modelName).orElseThrow(() -> unsupported(MODEL + " '"
                + modelName + "' is not a tokenizer quant4j implements ('llama' = SentencePiece, 'gpt2' = byte-level BPE)"));
        PreTokenizer pre = model == TokenizerModel.BPE ? preTokenizer() : null;

        List<String> texts = stringArray(TOKENS, true);
        int n = texts.size();
        String[] tokens = new String[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = texts.get(i).isEmpty() ? "[EMPTY_" + i + "]" : texts.get(i);
        }
        Vocabulary vocab = new Vocabulary(tokens, scores(n), attributes(n));
        BpeRanks ranks = model == TokenizerModel.BPE ? new BpeRanks(stringArray(MERGES, true)) : null;

        boolean spm = model == TokenizerModel.SPM;
        int bos = id("tokenizer.ggml.bos_token_id", spm ? 1 : 11, n);
        int eos = id("tokenizer.ggml.eos_token_id", spm ? 2 : 11, n);
        int unk = id("tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
        int pad = id("tokenizer.ggml.padding_token_id", -1, n);
        TokenizerConfig config = new TokenizerConfig(model, pre, bos, eos, unk, pad,
                bool("tokenizer.ggml.add_bos_token", spm || pre.addBos()),
                bool("tokenizer.ggml.add_eos_token", false),
                bool("tokenizer.ggml.add_space_prefix", spm),
                bool("tokenizer.ggml.remove_extra_whitespaces", false),
                !spm && pre.cleanSpaces());

        Set<Integer> endOfGeneration = new HashSet<>();
        for (int id = 0; id < n; id++) {
            if (END_OF_GENERATION.contains(tokens[id])) {
                vocab.setAttribute(id, TokenAttributes.CONTROL, true);
                endOfGeneration.add(vocab.id(tokens[id]));
            }
        }
        for (int id : new int[] {eos, id("tokenizer.ggml.eot_token_id", -1, n), id("tokenizer.ggml.eom_token_id", -1, n)}) {
            if (id >= 0) {
                endOfGeneration.add(id);
            }
        }
        applyPhi3Rule(vocab);
        return new LlamaTokenizer(name, vocab, ranks, config, endOfGeneration);
    }

    private PreTokenizer preTokenizer() {
        GgufValue v = meta.get(PRE);
        if (v == null) {
            throw unsupported("no " + PRE + ": llama.cpp would fall back to its 'default' pre-tokenizer (and warn that"
                    + " generation quality will be degraded), which quant4j does not implement; supported: "
                    + PreTokenizer.SUPPORTED);
        }
        String pre = string(PRE, v);
        return PreTokenizer.forName(pre).orElseThrow(() -> unsupported(PRE + " '" + pre
                + "' is not a pre-tokenizer quant4j implements (supported: " + PreTokenizer.SUPPORTED + ")"));
    }

    /**
     * llama.cpp's per-model attributes for Phi-3 ({@code general.name} containing "phi-3" or "phi3"): every special
     * token and {@code </s>} strips the whitespace after it, except {@code <unk>}, {@code <s>} and {@code <|endoftext|>}.
     */
    private void applyPhi3Rule(Vocabulary vocab) {
        GgufValue general = meta.get("general.name");
        String modelName = general != null && general.type() == GgufValueType.STRING
                ? general.asString().toLowerCase(Locale.ROOT) : "";
        if (!modelName.contains("phi-3") && !modelName.contains("phi3")) {
            return;
        }
        for (int id : new SpecialTokenSplitter(vocab).specials()) {
            vocab.setAttribute(id, TokenAttributes.RSTRIP, true);
        }
        setIfPresent(vocab, "</s>", true);
        for (String t : new String[] {"<unk>", "<s>", "<|endoftext|>"}) {
            setIfPresent(vocab, t, false);
        }
    }

    private static void setIfPresent(Vocabulary vocab, String text, boolean rstrip) {
        int id = vocab.id(text);
        if (id >= 0) {
            vocab.setAttribute(id, TokenAttributes.RSTRIP, rstrip);
        }
    }

    private float[] scores(int n) {
        float[] scores = new float[n];
        GgufValue v = meta.get(SCORES);
        if (v == null) {
            return scores;
        }
        List<Object> list = array(SCORES, v, n, GgufValueType.FLOAT32, GgufValueType.INT32);
        for (int i = 0; i < n; i++) {
            Object o = list.get(i);
            scores[i] = o instanceof Float f ? f : (float) (long) (Long) o;
        }
        return scores;
    }

    private int[] attributes(int n) {
        int[] attributes = new int[n];
        GgufValue v = meta.get(TOKEN_TYPE);
        if (v == null) {
            java.util.Arrays.fill(attributes, TokenAttributes.NORMAL);
            return attributes;
        }
        List<Object> list = array(TOKEN_TYPE, v, n, GgufValueType.INT32);
        for (int i = 0; i < n; i++) {
            attributes[i] = TokenAttributes.ofTokenType((Long) list.get(i));
        }
        return attributes;
    }

    /** A special token id: the file's value when it is a token id, else the default (when that is one), else -1. */
    private int id(String key, int fallback, int n) {
        int id = fallback >= 0 && fallback < n ? fallback : -1;
        GgufValue v = meta.get(key);
        if (v == null) {
            return id;
        }
        if (v.type() == GgufValueType.ARRAY || !(v.value() instanceof Long)) {
            throw corrupt(key + " must be an integer, found " + v.type());
        }
        long value = v.asLong();
        return value >= 0 && value < n ? (int) value : id;
    }

    private boolean bool(String key, boolean fallback) {
        GgufValue v = meta.get(key);
        if (v == null) {
            return fallback;
        }
        if (v.type() != GgufValueType.BOOL) {
            throw corrupt(key + " must be a BOOL, found " + v.type());
        }
        return v.asBool();
    }

    private String string(String key, GgufValue v) {
        if (v.type() != GgufValueType.STRING) {
            throw corrupt(key + " must be a STRING, found " + v.type());
        }
        return v.asString();
    }

    private List<String> stringArray(String key, boolean required) {
        GgufValue v = meta.get(key);
        if (v == null) {
            if (required) {
                throw unsupported("no " + key + ": the " + MODEL + " '" + string(MODEL, meta.get(MODEL))
                        + "' tokenizer needs it");
            }
            return List.of();
        }
        List<Object> list = array(key, v, 0, GgufValueType.STRING);
        List<String> out = new ArrayList<>(list.size());
        for (Object o : list) {
            out.add((String) o);
        }
        return out;
    }

    private List<Object> array(String key, GgufValue v, int minLength, GgufValueType... elementTypes) {
        if (v.type() != GgufValueType.ARRAY || !List.of(elementTypes).contains(v.elementType())) {
            throw corrupt(key + " must be an array of " + List.of(elementTypes) + ", found " + v.type()
                    + (v.elementType() == null ? "" : " of " + v.elementType()));
        }
        List<Object> list = v.asList();
        if (list.size() < minLength) {
            throw corrupt(key + " has " + list.size() + " values for " + minLength + " tokens");
        }
        return list;
    }

    private UnsupportedTokenizerException unsupported(String message) {
        return new UnsupportedTokenizerException(PrintableText.escape(name + ": " + message));
    }

    private CorruptFileException corrupt(String message) {
        return new CorruptFileException(PrintableText.escape(name + ": " + message));
    }
}
