package org.quant4j.model.llm.tokenizer;

import java.util.List;

/**
 * GPT-2's pre-tokenizer regex {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}, as
 * llama.cpp runs it by hand in {@code unicode_regex_split_custom_gpt2} ({@code src/unicode.cpp}): contractions are
 * lower case only, the optional prefix is a plain space, and a run of whitespace before a non-space leaves its last
 * whitespace to the next piece.
 */
final class Gpt2Splitter implements WordSplitter {

    @Override
    public void splitRange(int[] cps, int from, int to, List<Integer> out) {
        Scan s = new Scan(cps, from, to, out);
        int pos = from;
        while (pos < to) {
            int cp = cps[pos];
            int contraction = s.contraction(pos, false);
            if (contraction > 0) {
                pos = s.emit(pos + contraction);
                continue;
            }
            // ' ?' then one class: letters, numbers, or anything else that is not whitespace
            int first = cp == ' ' ? pos + 1 : pos;
            if (s.inRange(first)) {
                int c = cps[first];
                if (CodepointFlags.isLetter(c)) {
                    pos = s.emit(s.skip(first, CodepointFlags::isLetter));
                    continue;
                }
                if (CodepointFlags.isNumber(c)) {
                    pos = s.emit(s.skip(first, CodepointFlags::isNumber));
                    continue;
                }
                if (Scan.isOther(c)) {
                    pos = s.emit(s.skip(first, Scan::isOther));
                    continue;
                }
            }
            pos = s.whitespace(pos, false);
        }
    }
}
