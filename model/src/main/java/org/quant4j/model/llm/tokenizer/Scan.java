package org.quant4j.model.llm.tokenizer;

import java.util.List;
import java.util.function.IntPredicate;

/**
 * The cursor that llama.cpp's hand-written pre-tokenizer regexes share ({@code _get_cpt}, {@code _add_token} and the
 * whitespace tail of {@code unicode_regex_split_custom_gpt2} / {@code _llama3} in {@code src/unicode.cpp}): code
 * points of one range, {@link #OUT} outside it, and the pieces emitted so far.
 */
final class Scan {
    /** What a position outside the range reads as: no class, not whitespace. */
    static final int OUT = -1;

    private final int[] cps;
    private final int from;
    private final int to;
    private final List<Integer> out;
    private int pieceStart;

    Scan(int[] cps, int from, int to, List<Integer> out) {
        this.cps = cps;
        this.from = from;
        this.to = to;
        this.out = out;
        this.pieceStart = from;
    }

    boolean inRange(int pos) {
        return pos >= from && pos < to;
    }

    int cp(int pos) {
        return inRange(pos) ? cps[pos] : OUT;
    }

    /** Ends the current piece at {@code end} (nothing when empty) and returns {@code end}. */
    int emit(int end) {
        if (end > pieceStart) {
            out.add(end - pieceStart);
        }
        pieceStart = end;
        return end;
    }

    /** The first position at or after {@code pos} whose code point is out of range or fails {@code p}. */
    int skip(int pos, IntPredicate p) {
        while (inRange(pos) && p.test(cps[pos])) {
            pos++;
        }
        return pos;
    }

    /**
     * The length of the contraction {@code 's 't 'm 'd} (2) or {@code 're 've 'll} (3) at {@code pos}, in lower case
     * only (GPT-2) or in any case (Llama 3, Qwen2); 0 when there is none.
     */
    int contraction(int pos, boolean anyCase) {
        if (cp(pos) != '\'' || !inRange(pos + 1)) {
            return 0;
        }
        int a = anyCase ? Character.toLowerCase(cp(pos + 1)) : cp(pos + 1);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
            return 2;
        }
        int b = !inRange(pos + 2) ? OUT : anyCase ? Character.toLowerCase(cp(pos + 2)) : cp(pos + 2);
        return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') ? 3 : 0;
    }

    /** {@code [^\s\p{L}\p{N}]}: any code point that is not whitespace, letter or number. */
    static boolean isOther(int cp) {
        return !CodepointFlags.isWhitespace(cp) && !CodepointFlags.isLetter(cp) && !CodepointFlags.isNumber(cp);
    }

    /**
     * The regex tail at {@code pos}: with {@code newlines}, {@code \s*[\r\n]+} first (the whitespace up to and
     * including the run's last CR or LF); then {@code \s+(?!\S)} (a run of two or more before a non-space keeps its
     * last whitespace for the next piece), {@code \s+}, or, when {@code pos} is no whitespace, the single code point.
     * Returns the new position.
     */
    int whitespace(int pos, boolean newlines) {
        int n = 0;
        int lastNewlineEnd = -1;
        while (inRange(pos + n) && CodepointFlags.isWhitespace(cps[pos + n])) {
            int c = cps[pos + n];
            if (c == '\r' || c == '\n') {
                lastNewlineEnd = pos + n + 1;
            }
            n++;
        }
        if (newlines && lastNewlineEnd >= 0) {
            return emit(lastNewlineEnd);
        }
        if (n > 1 && inRange(pos + n)) {
            return emit(pos + n - 1);
        }
        if (n > 0) {
            return emit(pos + n);
        }
        return emit(pos + 1);
    }
}
