package org.quant4j.core.io.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.io.CorruptFileException;

/**
 * A parsed GGUF file ({@link GgufReader}): version, alignment, metadata, tensor infos, and access to each
 * tensor's bytes and, for the types of {@link GgmlQuants}, its dequantized values. Tensor data is read
 * from the file on demand.
 */
public final class GgufFile {
    private final Path path;
    private final int version;
    private final int alignment;
    private final long dataOffset;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;

    GgufFile(Path path, int version, int alignment, long dataOffset, Map<String, GgufValue> metadata,
             Map<String, GgufTensorInfo> tensors) {
        this.path = path;
        this.version = version;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    public Path path() { return path; }

    public int version() { return version; }

    public int alignment() { return alignment; }

    /** File offset of the data section (a multiple of the alignment). */
    public long dataOffset() { return dataOffset; }

    /** Metadata in file order. */
    public Map<String, GgufValue> metadata() { return metadata; }

    /** Tensor infos by name, in file order. */
    public Map<String, GgufTensorInfo> tensors() { return tensors; }

    public List<String> tensorNames() {
        return List.copyOf(tensors.keySet());
    }

    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo t = tensors.get(name);
        if (t == null) {
            throw new InvalidTensorException(path + " has no GGUF tensor '" + name + "'");
        }
        return t;
    }

    /** The stored bytes of a tensor. */
    public byte[] tensorBytes(String name) throws IOException {
        GgufTensorInfo t = tensor(name);
        long size = t.byteSize();
        if (size > Integer.MAX_VALUE - 8) {
            throw new InvalidTensorException(path + ": GGUF tensor '" + name + "' has " + size
                    + " bytes, more than one Java array holds");
        }
        ByteBuffer b = ByteBuffer.allocate((int) size);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long start = dataOffset + t.offset();
            while (b.hasRemaining()) {
                if (ch.read(b, start + b.position()) < 0) {
                    throw new CorruptFileException(path + ": GGUF tensor '" + name + "' is truncated");
                }
            }
        }
        return b.array();
    }

    /** The dequantized values of a tensor, row-major ({@code ne[0]} fastest). */
    public float[] dequantize(String name) throws IOException {
        GgufTensorInfo t = tensor(name);
        if (!t.type().hasCodec()) {
            throw new InvalidTensorException(path + ": GGUF tensor '" + name + "' is " + t.type()
                    + "; dequantizing is supported for " + GgmlType.codecNames());
        }
        float[] out = new float[Math.toIntExact(t.elements())];
        GgmlQuants.dequantize(t.type(), tensorBytes(name), 0, out);
        return out;
    }
}
