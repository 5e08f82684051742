package org.quant4j.model.llm.tokenizer;

/**
 * GPT-2's reversible map from the 256 byte values to printable code points, with which byte-level BPE vocabularies
 * spell their tokens: the bytes {@code !..~}, {@code ¡..¬} and {@code ®..ÿ} stand for themselves, the other 68
 * (controls, space, DEL, NBSP, soft hyphen, ...) for U+0100 upwards in byte order. As llama.cpp's
 * {@code unicode_byte_to_utf8_map} / {@code unicode_utf8_to_byte_map} in {@code src/unicode.cpp}.
 */
final class ByteUnicode {
    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by code point below {@link #DECODE_LIMIT}: the byte, or -1. */
    private static final short[] CHAR_TO_BYTE;
    private static final int DECODE_LIMIT = 0x100 + 68;

    static {
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = (char) (printable ? b : next++);
        }
        CHAR_TO_BYTE = new short[DECODE_LIMIT];
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        for (int b = 0; b < 256; b++) {
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = (short) b;
        }
    }

    private ByteUnicode() {}

    /** The code point that stands for byte {@code b} (0..255). */
    static char encode(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** {@code bytes} spelled in the map's code points, one char per byte. */
    static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /** The byte code point {@code cp} stands for, or -1 when it stands for none. */
    static int decode(int cp) {
        return cp >= 0 && cp < DECODE_LIMIT ? CHAR_TO_BYTE[cp] : -1;
    }
}
