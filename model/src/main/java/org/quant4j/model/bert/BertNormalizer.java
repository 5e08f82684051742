package org.quant4j.model.bert;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The Hugging Face tokenizers {@code BertNormalizer} (tokenizers/src/normalizers/bert.rs), itself the
 * text cleaning of the original BERT {@code BasicTokenizer}, in its order: (1) clean text — drop
 * U+0000, U+FFFD and "other" characters (Unicode categories Cc, Cf, Co, Cs, Cn; tab, newline and
 * carriage return excepted) and turn every whitespace character into a space; (2) surround CJK
 * ideographs with spaces; (3) strip accents — canonical decomposition (NFD) and removal of nonspacing
 * marks (Mn); unset in the file, it follows {@code lowercase}; (4) lower-case, code point by code point.
 */
final class BertNormalizer {
    private final boolean cleanText;
    private final boolean handleChineseChars;
    private final boolean stripAccents;
    private final boolean lowercase;

    BertNormalizer(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase) {
        this.cleanText = cleanText;
        this.handleChineseChars = handleChineseChars;
        this.stripAccents = stripAccents;
        this.lowercase = lowercase;
    }

    String normalize(String text) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        text.codePoints().forEach(c -> {
            if (cleanText) {
                if (c == 0 || c == 0xFFFD || isControl(c)) {
                    return;
                }
                if (isWhitespace(c)) {
                    c = ' ';
                }
            }
            if (handleChineseChars && isChinese(c)) {
                out.append(' ').appendCodePoint(c).append(' ');
            } else {
                out.appendCodePoint(c);
            }
        });
        String s = out.toString();
        if (stripAccents) {
            StringBuilder stripped = new StringBuilder(s.length());
            Normalizer.normalize(s, Normalizer.Form.NFD).codePoints()
                    .filter(c -> Character.getType(c) != Character.NON_SPACING_MARK)
                    .forEach(stripped::appendCodePoint);
            s = stripped.toString();
        }
        if (lowercase) {
            StringBuilder lower = new StringBuilder(s.length());
            // Per code point, as Rust's char::to_lowercase: no context-dependent rule (final sigma).
            s.codePoints().forEach(c -> lower.append(new String(Character.toChars(c)).toLowerCase(Locale.ROOT)));
            s = lower.toString();
        }
        return s;
    }

    /** Unicode White_Space (Rust's {@code char::is_whitespace}); tab, newline, return included. */
    static boolean isWhitespace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }

    /** Categories C* except tab, newline and carriage return (counted as whitespace). */
    static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        int type = Character.getType(c);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.PRIVATE_USE
                || type == Character.SURROGATE || type == Character.UNASSIGNED;
    }

    /** The CJK Unified Ideographs blocks and their extensions / compatibility blocks, as BERT defines them. */
    static boolean isChinese(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F)
                || (c >= 0x2B920 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }
}
