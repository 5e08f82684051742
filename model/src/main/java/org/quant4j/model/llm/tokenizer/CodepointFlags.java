package org.quant4j.model.llm.tokenizer;

/**
 * The code point classes llama.cpp's pre-tokenizers test ({@code unicode_cpt_flags} of llama.cpp's
 * {@code src/unicode.h}, filled by {@code scripts/gen-unicode-data.py} from UnicodeData.txt): letter = general
 * category L* ({@code \p{L}}), number = N* ({@code \p{N}}), whitespace = the 25 code points of
 * {@code unicode_set_whitespace} (Unicode's White_Space property, which is neither Java's
 * {@link Character#isWhitespace} nor ASCII {@code \s}). Categories come from the JDK's Unicode tables, so a code point
 * assigned after the JDK's Unicode version is unassigned here (for Java 17, Unicode 13).
 */
final class CodepointFlags {
    private CodepointFlags() {}

    static boolean isLetter(int cp) {
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                    Character.MODIFIER_LETTER, Character.OTHER_LETTER -> true;
            default -> false;
        };
    }

    static boolean isNumber(int cp) {
        return switch (Character.getType(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> true;
            default -> false;
        };
    }

    /** llama.cpp's {@code unicode_set_whitespace}. */
    static boolean isWhitespace(int cp) {
        return switch (cp) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }
}
