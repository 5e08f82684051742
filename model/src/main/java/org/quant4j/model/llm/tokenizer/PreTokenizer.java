package org.quant4j.model.llm.tokenizer;

import java.util.List;
import java.util.Optional;

/**
 * A byte-level BPE pre-tokenizer as llama.cpp chooses it from {@code tokenizer.ggml.pre}
 * ({@code llama_vocab::impl::load} and the constructor of {@code llm_tokenizer_bpe}, {@code src/llama-vocab.cpp}): the
 * split steps, whether a word that is itself a token skips the merges ({@code ignore_merges}), whether BOS is added
 * by default, and whether decoding cleans up spaces before punctuation ({@code clean_spaces}).
 *
 * @param name the GGUF value
 * @param family which regexes split the text (the llama.cpp pre-tokenizer type they share)
 */
public record PreTokenizer(String name, Family family, boolean ignoreMerges, boolean addBos, boolean cleanSpaces) {

    /** The regex sets implemented here. */
    public enum Family {
        /** {@code LLAMA_VOCAB_PRE_TYPE_GPT2}: GPT-2's regex. */
        GPT2,
        /** {@code LLAMA_VOCAB_PRE_TYPE_LLAMA3}: Llama 3's regex (digits in threes). */
        LLAMA3,
        /** {@code LLAMA_VOCAB_PRE_TYPE_QWEN2}: Llama 3's regex with single digits. */
        QWEN2,
        /** {@code LLAMA_VOCAB_PRE_TYPE_STARCODER}: every digit alone, then GPT-2's regex. */
        STARCODER;

        List<WordSplitter> splitters() {
            return switch (this) {
                case GPT2 -> List.of(new Gpt2Splitter());
                case LLAMA3 -> List.of(new Llama3Splitter(3));
                case QWEN2 -> List.of(new Llama3Splitter(1));
                case STARCODER -> List.of(new DigitSplitter(), new Gpt2Splitter());
            };
        }
    }

    /** The names accepted, for messages. */
    public static final String SUPPORTED = "llama3, llama-v3, llama-bpe, falcon3, pixtral, dbrx, smaug-bpe, gpt-2, "
            + "phi-2, mpt, olmo, jais, exaone4, qwen2, deepseek-r1-qwen, megrez, stablelm2, starcoder, refact, "
            + "command-r, smollm, codeshell, exaone, minerva-7b";

    /** The pre-tokenizer llama.cpp gives {@code tokenizer.ggml.pre = name}, if it is one of {@link #SUPPORTED}. */
    public static Optional<PreTokenizer> forName(String name) {
        PreTokenizer p = switch (name) {
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral" -> of(name, Family.LLAMA3, true, true, true);
            case "dbrx", "smaug-bpe" -> of(name, Family.LLAMA3, false, false, true);
            case "gpt-2", "phi-2", "mpt", "olmo", "jais", "exaone4" -> of(name, Family.GPT2, false, false, true);
            case "qwen2", "deepseek-r1-qwen" -> of(name, Family.QWEN2, false, false, false);
            case "megrez", "stablelm2" -> of(name, Family.QWEN2, false, false, true);
            case "starcoder", "refact", "codeshell", "exaone", "minerva-7b" -> of(name, Family.STARCODER, false, false, true);
            case "command-r", "smollm" -> of(name, Family.STARCODER, false, false, false);
            default -> null;
        };
        return Optional.ofNullable(p);
    }

    private static PreTokenizer of(String name, Family family, boolean ignoreMerges, boolean addBos, boolean clean) {
        return new PreTokenizer(name, family, ignoreMerges, addBos, clean);
    }
}
