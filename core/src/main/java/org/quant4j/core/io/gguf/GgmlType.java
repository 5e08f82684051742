package org.quant4j.core.io.gguf;

import java.util.Locale;

/**
 * The ggml tensor types a GGUF file can hold: the numeric ids of {@code enum ggml_type} in ggml's
 * {@code ggml.h}, with the block size (elements per block) and bytes per block of
 * {@code GGML_QUANT_SIZES} in llama.cpp's {@code gguf-py/gguf/constants.py} (Q8_1 as {@code sizeof(block_q8_1)} of
 * {@code ggml-common.h}, two fp16 then 32 int8: 36 bytes, where gguf-py 0.19 still lists 40 from the old fp32
 * fields; Q8_1 is never stored in model files). Every type is known to
 * the reader (so it can size and locate any tensor of a llama.cpp file); only
 * {@link #hasCodec() F32, F16, BF16, Q8_0, Q5_0, Q5_1, Q4_0, Q4_1, the K-quants Q2_K..Q6_K, IQ4_NL and IQ4_XS}
 * can be quantized and dequantized here ({@link GgmlQuants}).
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17);

    private final int id;
    private final int blockSize;
    private final int bytesPerBlock;

    GgmlType(int id, int blockSize, int bytesPerBlock) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
    }

    /** The {@code ggml_type} id stored in a GGUF tensor info. */
    public int id() { return id; }

    /** Elements per block ({@code ne[0]} must be a multiple of it). */
    public int blockSize() { return blockSize; }

    public int bytesPerBlock() { return bytesPerBlock; }

    /** Whether {@link GgmlQuants} quantizes and dequantizes this type. */
    public boolean hasCodec() {
        return switch (this) {
            case F32, F16, BF16, Q8_0, Q5_0, Q5_1, Q4_0, Q4_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS -> true;
            default -> false;
        };
    }

    /** The names of the types with a codec, for messages: {@code "F32, F16, ..., IQ4_XS"}. */
    public static String codecNames() {
        return java.util.Arrays.stream(values()).filter(GgmlType::hasCodec).map(Enum::name)
                .collect(java.util.stream.Collectors.joining(", "));
    }

    /** Bytes of {@code elements} values ({@code elements} a multiple of the block size). */
    public long byteSize(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(this + " stores blocks of " + blockSize + " elements, not " + elements);
        }
        return elements / blockSize * bytesPerBlock;
    }

    /** The type of a ggml id, or null if unknown. */
    public static GgmlType ofId(long id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }

    /** Parses a type name as llama.cpp writes it ({@code q8_0}, {@code Q4_1}, {@code f16}). */
    public static GgmlType parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown ggml type '" + name + "'", e);
        }
    }

    /**
     * llama.cpp's {@code llama_ftype} for a file whose weights are all of this type ({@code general.file_type}:
     * ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q4_1 3, MOSTLY_Q8_0 7, MOSTLY_Q5_0 8, MOSTLY_Q5_1 9,
     * MOSTLY_BF16 32), or -1 where this exporter does not name one.
     */
    public int llamaFileType() {
        return switch (this) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case BF16 -> 32;
            default -> -1;
        };
    }
}
