package org.quant4j.core.io.gguf;

/**
 * The metadata value types of GGUF ({@code enum gguf_type} of ggml's {@code gguf.h}, {@code GGUFValueType}
 * of {@code gguf-py/gguf/constants.py}), with their ids and the bytes of one value (0 for STRING and ARRAY,
 * whose size depends on the value).
 */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    STRING(8, 0), ARRAY(9, 0), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private final int id;
    private final int size;

    GgufValueType(int id, int size) {
        this.id = id;
        this.size = size;
    }

    public int id() { return id; }

    /** Bytes of one value, 0 for the variable-size STRING and ARRAY. */
    public int size() { return size; }

    /** The type of an id, or null if unknown. */
    public static GgufValueType ofId(long id) {
        for (GgufValueType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
