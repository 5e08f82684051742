package org.quant4j.model.llm.tokenizer;

/**
 * The symbols of one word while it is merged: each a slice of the word, linked to its neighbours; merging moves the
 * right symbol into the left one and empties it. llama.cpp's {@code llm_symbol} array ({@code src/llama-vocab.cpp}),
 * shared by the SentencePiece and the BPE sessions.
 */
final class SymbolChain {
    private final String word;
    private final int[] start;
    private final int[] length;
    private final int[] prev;
    private final int[] next;
    private final int count;

    /** One symbol per code point of {@code word}. */
    SymbolChain(String word) {
        this.word = word;
        int n = word.codePointCount(0, word.length());
        start = new int[n];
        length = new int[n];
        prev = new int[n];
        next = new int[n];
        int at = 0;
        for (int i = 0; i < n; i++) {
            int len = Character.charCount(word.codePointAt(at));
            start[i] = at;
            length[i] = len;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            at += len;
        }
        count = n;
    }

    /** The number of symbols the word started with (merged ones included). */
    int count() {
        return count;
    }

    /** The length in chars of symbol {@code i}; 0 once merged into its left neighbour. */
    int length(int i) {
        return length[i];
    }

    int next(int i) {
        return next[i];
    }

    int prev(int i) {
        return prev[i];
    }

    String text(int i) {
        return word.substring(start[i], start[i] + length[i]);
    }

    /** The text of symbol {@code left} followed by symbol {@code right} (its next). */
    String text(int left, int right) {
        return word.substring(start[left], start[left] + length[left] + length[right]);
    }

    /** Merges symbol {@code right} into {@code left}, its left neighbour. */
    void merge(int left, int right) {
        length[left] += length[right];
        length[right] = 0;
        next[left] = next[right];
        if (next[right] >= 0) {
            prev[next[right]] = left;
        }
    }
}
