package org.quant4j.model.llm.tokenizer;

import java.util.List;

/**
 * The pre-tokenizer regex of Llama 3 and Qwen2,
 * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}
 * with digit runs of at most k = 3 (Llama 3) or k = 1 (Qwen2), as llama.cpp runs it by hand in
 * {@code unicode_regex_split_custom_llama3} and {@code unicode_regex_split_custom_qwen2} ({@code src/unicode.cpp}):
 * contractions in any case, a letter run may take one leading code point that is not CR, LF, letter or number
 * (a space, a tab, a punctuation mark), and digit runs are cut into chunks of k from the left.
 */
final class Llama3Splitter implements WordSplitter {
    private final int maxDigits;

    /** @param maxDigits the longest run of digits one piece holds: 3 for Llama 3, 1 for Qwen2 */
    Llama3Splitter(int maxDigits) {
        if (maxDigits < 1) {
            throw new IllegalArgumentException("maxDigits must be at least 1: " + maxDigits);
        }
        this.maxDigits = maxDigits;
    }

    @Override
    public void splitRange(int[] cps, int from, int to, List<Integer> out) {
        Scan s = new Scan(cps, from, to, out);
        int pos = from;
        while (pos < to) {
            int cp = cps[pos];
            int contraction = s.contraction(pos, true);
            if (contraction > 0) {
                pos = s.emit(pos + contraction);
                continue;
            }
            boolean number = CodepointFlags.isNumber(cp);
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (cp != '\r' && cp != '\n' && !number
                    && (CodepointFlags.isLetter(cp) || isLetterAt(s, pos + 1))) {
                pos = s.emit(s.skip(pos + 1, CodepointFlags::isLetter));
                continue;
            }
            // \p{N}{1,k}
            if (number) {
                int end = s.skip(pos, CodepointFlags::isNumber);
                while (pos < end) {
                    pos = s.emit(Math.min(end, pos + maxDigits));
                }
                continue;
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'; as llama.cpp, a lone space at the end of the range is taken here too
            int first = cp == ' ' ? pos + 1 : pos;
            if (!s.inRange(first) || Scan.isOther(cps[first])) {
                int end = s.skip(first, Scan::isOther);
                while (s.cp(end) == '\r' || s.cp(end) == '\n') {
                    end++;
                }
                pos = s.emit(end);
                continue;
            }
            pos = s.whitespace(pos, true);
        }
    }

    private static boolean isLetterAt(Scan s, int pos) {
        return s.inRange(pos) && CodepointFlags.isLetter(s.cp(pos));
    }
}
