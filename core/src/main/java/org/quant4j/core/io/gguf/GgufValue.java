package org.quant4j.core.io.gguf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata value: its {@link GgufValueType} and the Java value. Integer types hold a
 * {@link Long} (UINT64 as its two's-complement bits), FLOAT32 a {@link Float}, FLOAT64 a {@link Double},
 * BOOL a {@link Boolean}, STRING a {@link String} (UTF-8 in the file), ARRAY an unmodifiable list of such
 * values of {@code elementType} (nested arrays as {@link GgufValue}s).
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if ((type == GgufValueType.ARRAY) != (elementType != null)) {
            throw new IllegalArgumentException("an element type is given exactly for arrays");
        }
    }

    public static GgufValue string(String s) {
        return new GgufValue(GgufValueType.STRING, null, Objects.requireNonNull(s, "string"));
    }

    public static GgufValue uint32(long v) {
        if (v < 0 || v > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("uint32 value out of range: " + v);
        }
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue int32(int v) {
        return new GgufValue(GgufValueType.INT32, null, (long) v);
    }

    public static GgufValue uint64(long v) {
        return new GgufValue(GgufValueType.UINT64, null, v);
    }

    public static GgufValue int64(long v) {
        return new GgufValue(GgufValueType.INT64, null, v);
    }

    public static GgufValue float32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    public static GgufValue float64(double v) {
        return new GgufValue(GgufValueType.FLOAT64, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    /** A value of any scalar type from its raw Java value (as {@link #value()} holds it); for the reader. */
    static GgufValue scalar(GgufValueType type, Object value) {
        return new GgufValue(type, null, value);
    }

    /** An array of {@code elementType} values (each as {@link #value()} of that type holds it). */
    public static GgufValue array(GgufValueType elementType, List<?> values) {
        return new GgufValue(GgufValueType.ARRAY, Objects.requireNonNull(elementType, "elementType"),
                Collections.unmodifiableList(new ArrayList<>(values)));
    }

    public static GgufValue stringArray(List<String> values) {
        return array(GgufValueType.STRING, values);
    }

    public static GgufValue int32Array(int... values) {
        List<Long> list = new ArrayList<>(values.length);
        for (int v : values) list.add((long) v);
        return array(GgufValueType.INT32, list);
    }

    public static GgufValue float32Array(float... values) {
        List<Float> list = new ArrayList<>(values.length);
        for (float v : values) list.add(v);
        return array(GgufValueType.FLOAT32, list);
    }

    public String asString() {
        return (String) cast(GgufValueType.STRING);
    }

    /** The value of an integer type (UINT64 as two's-complement bits). */
    public long asLong() {
        if (!(value instanceof Long l) || type == GgufValueType.ARRAY) {
            throw new IllegalStateException("a " + type + " value is not an integer");
        }
        return l;
    }

    public float asFloat() {
        return (Float) cast(GgufValueType.FLOAT32);
    }

    public boolean asBool() {
        return (Boolean) cast(GgufValueType.BOOL);
    }

    @SuppressWarnings("unchecked")
    public List<Object> asList() {
        return (List<Object>) cast(GgufValueType.ARRAY);
    }

    private Object cast(GgufValueType expected) {
        if (type != expected) {
            throw new IllegalStateException("a " + type + " value is not a " + expected);
        }
        return value;
    }
}
