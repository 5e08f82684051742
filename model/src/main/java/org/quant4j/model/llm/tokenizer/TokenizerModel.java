package org.quant4j.model.llm.tokenizer;

import java.util.Optional;

/** The tokenizer families of {@code tokenizer.ggml.model} implemented here (llama.cpp's {@code llama_vocab_type}). */
public enum TokenizerModel {
    /** {@code llama}: SentencePiece-style BPE over scored pieces with byte fallback ({@code LLAMA_VOCAB_TYPE_SPM}). */
    SPM("llama"),
    /** {@code gpt2}: byte-level BPE with ranked merges and a pre-tokenizer ({@code LLAMA_VOCAB_TYPE_BPE}). */
    BPE("gpt2");

    private final String ggufName;

    TokenizerModel(String ggufName) {
        this.ggufName = ggufName;
    }

    /** The value of {@code tokenizer.ggml.model}. */
    public String ggufName() {
        return ggufName;
    }

    public static Optional<TokenizerModel> forGgufName(String name) {
        for (TokenizerModel m : values()) {
            if (m.ggufName.equals(name)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }
}
