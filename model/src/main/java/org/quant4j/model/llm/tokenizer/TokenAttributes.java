package org.quant4j.model.llm.tokenizer;

/**
 * Token attributes as bit flags, llama.cpp's {@code llama_token_attr} ({@code include/llama.h}), and the mapping from
 * the GGUF {@code tokenizer.ggml.token_type} values ({@code llama_token_type}: 0 undefined, 1 normal, 2 unknown,
 * 3 control, 4 user-defined, 5 unused, 6 byte) that {@code llama_vocab::impl::load} ({@code src/llama-vocab.cpp})
 * applies.
 */
public final class TokenAttributes {
    public static final int UNDEFINED = 0;
    public static final int UNKNOWN = 1;
    public static final int UNUSED = 1 << 1;
    public static final int NORMAL = 1 << 2;
    public static final int CONTROL = 1 << 3;
    public static final int USER_DEFINED = 1 << 4;
    public static final int BYTE = 1 << 5;
    /** Whitespace before the token is dropped when it is matched in text. */
    public static final int LSTRIP = 1 << 7;
    /** Whitespace after the token is dropped when it is matched in text. */
    public static final int RSTRIP = 1 << 8;

    private TokenAttributes() {}

    /** The attributes of GGUF token type {@code type}; unknown types are {@link #UNDEFINED}, as in llama.cpp. */
    public static int ofTokenType(long type) {
        return switch ((int) type) {
            case 1 -> NORMAL;
            case 2 -> UNKNOWN;
            case 3 -> CONTROL;
            case 4 -> USER_DEFINED;
            case 5 -> UNUSED;
            case 6 -> BYTE;
            default -> UNDEFINED;
        };
    }
}
