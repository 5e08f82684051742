package org.quant4j.model.llm.tokenizer;

import java.util.HashMap;
import java.util.Map;

/**
 * The token table of a tokenizer: each id's text (as the GGUF file spells it: SentencePiece's {@code ▁} for a
 * space, GPT-2's byte map for byte-level BPE), score and {@link TokenAttributes}, and the id of a text. As
 * llama.cpp's {@code id_to_token} / {@code token_to_id} ({@code llama_vocab::impl}, {@code src/llama-vocab.cpp}):
 * when two ids share a text, the text names the later one.
 */
public final class Vocabulary {
    private final String[] texts;
    private final float[] scores;
    private final int[] attributes;
    private final Map<String, Integer> ids;

    Vocabulary(String[] texts, float[] scores, int[] attributes) {
        if (scores.length != texts.length || attributes.length != texts.length) {
            throw new IllegalArgumentException("texts, scores and attributes differ in length");
        }
        this.texts = texts.clone();
        this.scores = scores.clone();
        this.attributes = attributes.clone();
        this.ids = new HashMap<>(texts.length * 2);
        for (int i = 0; i < texts.length; i++) {
            ids.put(texts[i], i);
        }
    }

    public int size() {
        return texts.length;
    }

    public String text(int id) {
        return texts[check(id)];
    }

    public float score(int id) {
        return scores[check(id)];
    }

    /** The {@link TokenAttributes} bits of {@code id}. */
    public int attributes(int id) {
        return attributes[check(id)];
    }

    public boolean hasAttribute(int id, int mask) {
        return (attributes(id) & mask) != 0;
    }

    /** The id of the token spelled {@code text}, or -1. */
    public int id(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    /** Sets ({@code on}) or clears the {@code mask} bits of {@code id}; for the loader's llama.cpp fix-ups. */
    void setAttribute(int id, int mask, boolean on) {
        attributes[check(id)] = on ? attributes[id] | mask : attributes[id] & ~mask;
    }

    private int check(int id) {
        if (id < 0 || id >= texts.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + texts.length + " tokens");
        }
        return id;
    }
}
