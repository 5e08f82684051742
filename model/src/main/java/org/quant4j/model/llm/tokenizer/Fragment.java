package org.quant4j.model.llm.tokenizer;

/**
 * A piece of the text to tokenize: raw text still to be tokenized, or a special token already matched in it
 * (llama.cpp's {@code fragment_buffer_variant}, {@code src/llama-vocab.cpp}).
 *
 * @param text the raw text, or null for a token
 * @param token the token id, or -1 for raw text
 */
record Fragment(String text, int token) {

    static Fragment raw(String text) {
        return new Fragment(text, -1);
    }

    static Fragment token(int id) {
        return new Fragment(null, id);
    }

    boolean isToken() {
        return text == null;
    }
}
