package org.quant4j.model.llm.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The merge ranks of a byte-level BPE vocabulary, from {@code tokenizer.ggml.merges} ("left right" per line, rank =
 * line number). As llama.cpp's {@code bpe_ranks} ({@code llama_vocab::impl::load}, {@code src/llama-vocab.cpp}): a
 * line splits at its first space after the first character, and the first line of a pair gives its rank.
 */
final class BpeRanks {
    private final Map<String, Integer> ranks;

    BpeRanks(List<String> merges) {
        ranks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) {
            String line = merges.get(i);
            int space = line.indexOf(' ', 1);
            String left = space < 0 ? "" : line.substring(0, space);
            String right = space < 0 ? "" : line.substring(space + 1);
            ranks.putIfAbsent(key(left, right), i);
        }
    }

    int size() {
        return ranks.size();
    }

    /** The rank of merging {@code left} with {@code right}, or -1 when the vocabulary has no such merge. */
    int rank(String left, String right) {
        Integer r = ranks.get(key(left, right));
        return r == null ? -1 : r;
    }

    /** One string per pair: the left part's length, then both parts (no separator can clash with token text). */
    private static String key(String left, String right) {
        return (char) left.length() + left + right;
    }
}
