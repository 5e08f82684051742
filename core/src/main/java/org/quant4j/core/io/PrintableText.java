package org.quant4j.core.io;

/**
 * Text from a file made safe to print: control characters (C0, DEL, C1), line and paragraph separators and the
 * bidirectional overrides become {@code \xNN} / {@code \}{@code uNNNN} escapes, so a tensor name or metadata value
 * cannot move the cursor, rewrite the screen or break a one-line message. Other text is unchanged.
 */
public final class PrintableText {
    private PrintableText() {}

    public static String escape(String s) {
        if (s == null || s.codePoints().noneMatch(PrintableText::unsafe)) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        s.codePoints().forEach(c -> {
            if (!unsafe(c)) {
                b.appendCodePoint(c);
            } else if (c < 0x100) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.append(String.format("\\u%04x", c));
            }
        });
        return b.toString();
    }

    private static boolean unsafe(int c) {
        return Character.isISOControl(c) || c == 0x2028 || c == 0x2029 || (c >= 0x202A && c <= 0x202E)
                || (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F || c == 0x061C;
    }
}
