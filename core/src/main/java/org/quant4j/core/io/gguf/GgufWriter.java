package org.quant4j.core.io.gguf;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.io.AtomicFileWriter;

/**
 * Writes a GGUF version 3 file as specified in ggml's {@code docs/gguf.md}: little endian; the magic
 * {@code "GGUF"}, version, tensor count and metadata count (uint64); the metadata key-value pairs (key as a
 * GGUF string, uint64 length then UTF-8 bytes; value type id; value); the tensor infos (name, dimension
 * count, dimensions {@code ne} in ggml order, ggml type id, offset in the data section); zero padding to
 * the alignment; the tensor data, each tensor starting at a multiple of the alignment.
 * {@code general.alignment} (uint32) is always written first. Names are checked as ggml's {@code gguf.cpp}
 * reads them: at most 63 UTF-8 bytes ({@code GGML_MAX_NAME} 64 with the terminator), 1 to 4 dimensions,
 * {@code ne[0]} a multiple of the type's block size.
 *
 * <p>The file is written through {@link AtomicFileWriter}: on any failure no file (and no partial file) is left.
 */
public final class GgufWriter {
    public static final int VERSION = 3;
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final int MAX_NAME_BYTES = 63;
    public static final int MAX_DIMS = 4;
    static final byte[] MAGIC = {'G', 'G', 'U', 'F'};
    static final String ALIGNMENT_KEY = "general.alignment";

    private final int alignment;
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Map<String, Tensor> byName = new LinkedHashMap<>();

    private record Tensor(String name, long[] ne, GgmlType type, byte[] data) {}

    public GgufWriter() {
        this(DEFAULT_ALIGNMENT);
    }

    /** @param alignment a power of two (ggml requires one) */
    public GgufWriter(int alignment) {
        if (alignment < 1 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("the GGUF alignment must be a power of two, got " + alignment);
        }
        this.alignment = alignment;
        metadata.put(ALIGNMENT_KEY, GgufValue.uint32(alignment));
    }

    public int alignment() {
        return alignment;
    }

    /** Adds a metadata entry; {@code general.alignment} is set by the constructor. */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(value, "value");
        if (Objects.requireNonNull(key, "key").isEmpty()) {
            throw new IllegalArgumentException("a GGUF metadata key must not be empty");
        }
        if (metadata.containsKey(key)) {
            throw new IllegalArgumentException("GGUF metadata key '" + key + "' is set twice"
                    + (key.equals(ALIGNMENT_KEY) ? " (the alignment is given to the constructor)" : ""));
        }
        metadata.put(key, value);
        return this;
    }

    /**
     * Adds a tensor.
     *
     * @param ne   dimensions in ggml order (innermost first)
     * @param data the {@code type.byteSize(product(ne))} bytes of the tensor (kept, not copied)
     */
    public GgufWriter addTensor(String name, long[] ne, GgmlType type, byte[] data) {
        Objects.requireNonNull(type, "type");
        checkName(name);
        if (byName.containsKey(name)) {
            throw new InvalidTensorException("GGUF tensor '" + name + "' is added twice: names must be unique");
        }
        if (ne.length < 1 || ne.length > MAX_DIMS) {
            throw new InvalidTensorException("GGUF tensor '" + name + "' has " + ne.length
                    + " dimensions; ggml allows 1 to " + MAX_DIMS);
        }
        long n = 1;
        for (long d : ne) {
            if (d < 0) {
                throw new InvalidTensorException("GGUF tensor '" + name + "' has a negative dimension: "
                        + Arrays.toString(ne));
            }
            n = Math.multiplyExact(n, d);
        }
        if (ne[0] % type.blockSize() != 0) {
            throw new InvalidTensorException("GGUF tensor '" + name + "' " + Arrays.toString(ne) + ": ne[0] = "
                    + ne[0] + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        if (data.length != type.byteSize(n)) {
            throw new InvalidTensorException("GGUF tensor '" + name + "' " + Arrays.toString(ne) + " of type " + type
                    + " needs " + type.byteSize(n) + " bytes, got " + data.length);
        }
        Tensor t = new Tensor(name, ne.clone(), type, data);
        tensors.add(t);
        byName.put(name, t);
        return this;
    }

    private static void checkName(String name) {
        if (Objects.requireNonNull(name, "tensor name").isEmpty()) {
            throw new InvalidTensorException("a GGUF tensor name must not be empty");
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_NAME_BYTES) {
            throw new InvalidTensorException("GGUF tensor name '" + name + "' has " + bytes
                    + " UTF-8 bytes; ggml allows at most " + MAX_NAME_BYTES);
        }
    }

    public void write(Path target) throws IOException {
        write(target, UnaryOperator.identity());
    }

    /** @param streamDecorator wraps the file's stream (tests inject failures) */
    void write(Path target, UnaryOperator<OutputStream> streamDecorator) throws IOException {
        AtomicFileWriter.write(target, streamDecorator, this::writeTo);
    }

    private void writeTo(OutputStream stream) throws IOException {
        LeOutput out = new LeOutput(stream);
        out.bytes(MAGIC);
        out.u32(VERSION);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.u32(e.getValue().type().id());
            writeValue(out, e.getValue().type(), e.getValue().elementType(), e.getValue().value());
        }
        long offset = 0;
        for (Tensor t : tensors) {
            out.string(t.name);
            out.u32(t.ne.length);
            for (long d : t.ne) out.u64(d);
            out.u32(t.type.id());
            out.u64(offset);
            offset = align(offset + t.data.length);
        }
        out.zeros(align(out.position()) - out.position());
        for (Tensor t : tensors) {
            out.bytes(t.data);
            out.zeros(align(t.data.length) - t.data.length);
        }
    }

    private long align(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static void writeValue(LeOutput out, GgufValueType type, GgufValueType elementType, Object v)
            throws IOException {
        switch (type) {
            case UINT8, INT8, BOOL -> out.u8(type == GgufValueType.BOOL ? ((Boolean) v ? 1 : 0) : (int) (long) (Long) v);
            case UINT16, INT16 -> out.u16((int) (long) (Long) v);
            case UINT32, INT32 -> out.u32((int) (long) (Long) v);
            case UINT64, INT64 -> out.u64((Long) v);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) v));
            case STRING -> out.string((String) v);
            case ARRAY -> {
                List<?> list = (List<?>) v;
                out.u32(elementType.id());
                out.u64(list.size());
                for (Object element : list) {
                    if (elementType == GgufValueType.ARRAY) {
                        GgufValue inner = (GgufValue) element;
                        out.u32(inner.elementType().id());
                        List<?> innerList = inner.asList();
                        out.u64(innerList.size());
                        for (Object x : innerList) writeValue(out, inner.elementType(), null, x);
                    } else {
                        writeValue(out, elementType, null, element);
                    }
                }
            }
        }
    }

    /** Little-endian output that counts its position. */
    private static final class LeOutput {
        private final OutputStream out;
        private final byte[] buf = new byte[8];
        private long position;

        LeOutput(OutputStream out) {
            this.out = out;
        }

        long position() { return position; }

        void u8(int v) throws IOException {
            out.write(v);
            position++;
        }

        void u16(int v) throws IOException {
            le(v, 2);
        }

        void u32(int v) throws IOException {
            le(v, 4);
        }

        void u64(long v) throws IOException {
            le(v, 8);
        }

        private void le(long v, int n) throws IOException {
            for (int k = 0; k < n; k++) buf[k] = (byte) (v >>> (8 * k));
            out.write(buf, 0, n);
            position += n;
        }

        void bytes(byte[] b) throws IOException {
            out.write(b);
            position += b.length;
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) out.write(0);
            position += n;
        }
    }
}
