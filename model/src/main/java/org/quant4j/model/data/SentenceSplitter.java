package org.quant4j.model.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Splits English prose into sentences with a fixed rule, so every run gets the same sentences: a
 * sentence ends at {@code .}, {@code !} or {@code ?} (with any closing quotes or brackets right after
 * it) when whitespace follows and the next word starts with an upper-case letter, a digit or an opening
 * quote or bracket — unless the word ending in {@code .} is a known abbreviation ({@code Mr.},
 * {@code Gen.}, {@code Jan.}, ...), a single letter (an initial) or contains another period
 * ({@code U.S.}). Runs of whitespace become one space. Sentences an abbreviation rule wrongly joins stay
 * joined: the rule never cuts inside a sentence for these cases, which matters more for a corpus.
 */
public final class SentenceSplitter {
    private static final Set<String> ABBREVIATIONS = Set.of("mr", "mrs", "ms", "messrs", "dr", "st", "jr", "sr",
            "gen", "gov", "sen", "rep", "reps", "hon", "col", "capt", "lt", "maj", "sgt", "adm", "prof", "rev", "no",
            "nos", "vol", "co", "inc", "ltd", "mt", "ft", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
            "sept", "oct", "nov", "dec", "vs", "viz", "art", "sec", "ch", "pp", "cf", "approx", "est", "dept");

    private SentenceSplitter() {
    }

    /** The sentences of {@code text}, trimmed, in order; empty pieces are dropped. */
    public static List<String> split(String text) {
        String s = text.replaceAll("\\s+", " ").trim();
        List<String> sentences = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '.' && c != '!' && c != '?') {
                continue;
            }
            int end = i + 1;
            while (end < s.length() && isCloser(s.charAt(end))) {
                end++;
            }
            if (end + 1 >= s.length() || s.charAt(end) != ' ' || !startsSentence(s.charAt(end + 1))) {
                continue;
            }
            if (c == '.' && isAbbreviation(s, start, i)) {
                continue;
            }
            add(sentences, s.substring(start, end));
            start = end + 1;
            i = end;
        }
        add(sentences, s.substring(start));
        return sentences;
    }

    private static void add(List<String> sentences, String sentence) {
        String trimmed = sentence.trim();
        if (!trimmed.isEmpty()) {
            sentences.add(trimmed);
        }
    }

    private static boolean isCloser(char c) {
        return c == '"' || c == '\'' || c == ')' || c == ']' || c == '\u201D' || c == '\u2019';
    }

    private static boolean startsSentence(char c) {
        return Character.isUpperCase(c) || Character.isDigit(c) || c == '"' || c == '\'' || c == '(' || c == '['
                || c == '\u201C' || c == '\u2018';
    }

    /** Whether the word ending at the period {@code dot} (inside the sentence begun at {@code from}) is an abbreviation. */
    private static boolean isAbbreviation(String s, int from, int dot) {
        int wordStart = dot;
        while (wordStart > from && s.charAt(wordStart - 1) != ' ') {
            wordStart--;
        }
        String word = s.substring(wordStart, dot);
        while (!word.isEmpty() && !Character.isLetterOrDigit(word.charAt(0))) {
            word = word.substring(1);
        }
        if (word.length() == 1 && Character.isLetter(word.charAt(0))) {
            return true;
        }
        return word.indexOf('.') >= 0 || ABBREVIATIONS.contains(word.toLowerCase(Locale.ROOT));
    }
}
