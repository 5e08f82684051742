package org.quant4j.model.llm.tokenizer;

import java.util.List;

/**
 * The regex {@code \p{N}} as a split step (StarCoder's and Refact's first pre-tokenizer regex in llama.cpp's
 * {@code llm_tokenizer_bpe}, {@code src/llama-vocab.cpp}, run through {@code unicode_regex_split_stl}): every number
 * code point becomes a piece of its own, and each run of other code points between them one piece.
 */
final class DigitSplitter implements WordSplitter {

    @Override
    public void splitRange(int[] cps, int from, int to, List<Integer> out) {
        int runStart = from;
        for (int pos = from; pos < to; pos++) {
            if (CodepointFlags.isNumber(cps[pos])) {
                if (pos > runStart) {
                    out.add(pos - runStart);
                }
                out.add(1);
                runStart = pos + 1;
            }
        }
        if (to > runStart) {
            out.add(to - runStart);
        }
    }
}
