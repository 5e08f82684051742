package org.quant4j.model.llm.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * One step of a byte-level BPE pre-tokenizer: splits each piece of a text (as code points) into smaller pieces, as
 * one regular expression of llama.cpp's {@code llm_tokenizer_bpe} ({@code src/llama-vocab.cpp}) does inside
 * {@code unicode_regex_split} ({@code src/unicode.cpp}): matches become pieces, and so does any text between them.
 * Pieces are given as their lengths in code points, in order; they cover the text exactly.
 */
interface WordSplitter {

    /** Splits every piece of {@code lengths} (which cover {@code cps}) and returns the new piece lengths. */
    default List<Integer> split(int[] cps, List<Integer> lengths) {
        List<Integer> out = new ArrayList<>(lengths.size() * 2);
        int start = 0;
        for (int length : lengths) {
            splitRange(cps, start, start + length, out);
            start += length;
        }
        return out;
    }

    /**
     * Appends to {@code out} the lengths of the pieces of {@code cps[from, to)}; code points outside the range are
     * not looked at (llama.cpp treats them as out of range, matching nothing).
     */
    void splitRange(int[] cps, int from, int to, List<Integer> out);
}
