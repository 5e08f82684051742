package org.quant4j.model.llm.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Token ids back to bytes, as llama.cpp's {@code llama_vocab::impl::token_to_piece} and {@code detokenize}
 * ({@code src/llama-vocab.cpp}). A piece is: nothing for a control or unknown token unless special pieces are asked
 * for; the text of a control, unknown or user-defined token as it is; for a normal token, SentencePiece's text with
 * {@code ▁} as a space, or byte-level BPE's text read back through GPT-2's byte map ({@code llama_decode_text});
 * the byte of a byte token; nothing for other (unused, undefined) tokens. Detokenizing joins the pieces, drops one
 * leading space of the first when the tokenizer adds a space prefix, can drop a leading BOS / trailing EOS the
 * tokenizer adds, and cleans up spaces before punctuation when the pre-tokenizer asks for it.
 */
final class Detokenizer {
    private final Vocabulary vocab;
    private final TokenizerConfig config;

    Detokenizer(Vocabulary vocab, TokenizerConfig config) {
        this.vocab = vocab;
        this.config = config;
    }

    /** The bytes of token {@code id}, with at most {@code lstrip} leading spaces removed. */
    byte[] piece(int id, boolean special, int lstrip) {
        byte[] piece = piece(id, special);
        int skip = 0;
        while (skip < lstrip && skip < piece.length && piece[skip] == ' ') {
            skip++;
        }
        return skip == 0 ? piece : java.util.Arrays.copyOfRange(piece, skip, piece.length);
    }

    private byte[] piece(int id, boolean special) {
        int attributes = vocab.attributes(id);
        int specialMask = TokenAttributes.UNKNOWN | TokenAttributes.CONTROL;
        if (!special && (attributes & specialMask) != 0) {
            return new byte[0];
        }
        String text = vocab.text(id);
        if ((attributes & (specialMask | TokenAttributes.USER_DEFINED)) != 0) {
            return utf8(text);
        }
        if ((attributes & TokenAttributes.NORMAL) != 0) {
            return config.model() == TokenizerModel.SPM ? utf8(text.replace("\u2581", " ")) : bytesOfByteLevel(text);
        }
        if ((attributes & TokenAttributes.BYTE) != 0) {
            return new byte[] {(byte) byteValue(text)};
        }
        return new byte[0];
    }

    /** llama.cpp's {@code token_to_byte}: the hex digits of {@code <0xXX>} ({@code strtol}, so 0 when they are none). */
    private static int byteValue(String text) {
        if (text.length() < 5) {
            return 0;
        }
        try {
            return Integer.parseInt(text.substring(3, 5), 16) & 0xFF;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** llama.cpp's {@code llama_decode_text}: each code point's byte, or a visible marker for one that is no byte. */
    private static byte[] bytesOfByteLevel(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        text.codePoints().forEach(cp -> {
            int b = ByteUnicode.decode(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                StringBuilder marker = new StringBuilder("[UNK_BYTE_0x");
                for (byte u : utf8(new String(Character.toChars(cp)))) {
                    marker.append(String.format("%02x", u & 0xFF));
                }
                out.writeBytes(utf8(marker.append(text).append(']').toString()));
            }
        });
        return out.toByteArray();
    }

    byte[] detokenize(int[] ids, boolean removeSpecial, boolean unparseSpecial) {
        int from = 0;
        int to = ids.length;
        boolean removeSpace = config.addSpacePrefix();
        if (removeSpecial && config.addBos() && to > from && ids[from] == config.bos()) {
            removeSpace = false;
            from++;
        }
        if (removeSpecial && config.addEos() && to > from && ids[to - 1] == config.eos()) {
            to--;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = from; i < to; i++) {
            out.writeBytes(piece(ids[i], unparseSpecial, removeSpace ? 1 : 0));
            removeSpace = false;
        }
        byte[] text = out.toByteArray();
        return config.cleanSpaces() ? SpaceCleanup.apply(text) : text;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
