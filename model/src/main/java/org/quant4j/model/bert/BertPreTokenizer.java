package org.quant4j.model.bert;

import java.util.ArrayList;
import java.util.List;

/**
 * The Hugging Face {@code BertPreTokenizer} (tokenizers/src/pre_tokenizers/bert.rs): splits on
 * whitespace (removed) and isolates every punctuation character as its own word. Punctuation is
 * ASCII punctuation (which includes symbols such as {@code $ + < = > ^ ` | ~}) or a character of a
 * Unicode punctuation category (Pc, Pd, Ps, Pe, Pi, Pf, Po).
 */
final class BertPreTokenizer {
    private BertPreTokenizer() {
    }

    static List<String> split(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (BertNormalizer.isWhitespace(c)) {
                flush(word, words);
            } else if (isPunctuation(c)) {
                flush(word, words);
                words.add(new String(Character.toChars(c)));
            } else {
                word.appendCodePoint(c);
            }
        });
        flush(word, words);
        return words;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (!word.isEmpty()) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    static boolean isPunctuation(int c) {
        if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
            return true;
        }
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }
}
