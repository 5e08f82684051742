package org.quant4j.core.io.gguf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.core.io.InputFiles;
import org.quant4j.core.io.PrintableText;

/**
 * Parses the header, metadata and tensor infos of a GGUF file (ggml's {@code docs/gguf.md}, versions 2
 * and 3, which share one layout; little endian only) and checks them, so that every inconsistency is a
 * {@link CorruptFileException} naming the file and what is wrong: bad magic, unsupported version,
 * truncation, unknown metadata or ggml type ids, a bad {@code general.alignment}, duplicate keys or
 * names, misaligned or out-of-range (or overlapping) tensor data. Every count and length is bounded by the bytes
 * that remain before anything is allocated for it, arrays nest at most {@link #MAX_ARRAY_DEPTH} deep, and names
 * and keys in messages have their control characters escaped ({@link PrintableText}).
 */
public final class GgufReader {
    /** Arrays of arrays nest at most this deep; deeper nesting is refused as corrupt or hostile. */
    public static final int MAX_ARRAY_DEPTH = 8;
    /**
     * Metadata values (array elements included) in one file at most: 16,777,216, some 30 times the largest real
     * tokenizer's (a 152k-token vocabulary with its merges and scores); beyond it a file is refused before its boxed
     * values could take many times its own size in memory.
     */
    public static final long MAX_METADATA_VALUES = 1L << 24;

    private GgufReader() {}

    public static GgufFile read(Path path) throws IOException {
        InputFiles.requireNotDirectory(path, "a GGUF file");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return new Parser(new LeInput(ch, path.toString()), path).parse();
        }
    }

    private static final class Parser {
        private final LeInput in;
        private final Path path;

        Parser(LeInput in, Path path) {
            this.in = in;
            this.path = path;
        }

        private CorruptFileException corrupt(String message) {
            return new CorruptFileException(PrintableText.escape(path + ": " + message));
        }

        GgufFile parse() throws IOException {
            if (in.size() < 4) {
                throw corrupt("not a GGUF file: only " + in.size() + " bytes, too short for the magic");
            }
            byte[] magic = in.bytes(4, "magic");
            if (!Arrays.equals(magic, GgufWriter.MAGIC)) {
                throw corrupt("not a GGUF file: bad magic " + hex(magic) + " ('" + printable(magic)
                        + "'), expected 47 47 55 46 ('GGUF')");
            }
            long version = in.u32("version");
            if (version != 2 && version != 3) {
                throw corrupt("unsupported GGUF version " + version + " (this reader reads versions 2 and 3"
                        + (Long.reverseBytes(version) >>> 32 == 3 ? "; the file looks big endian, which is not supported" : "")
                        + ")");
            }
            long tensorCount = in.u64("tensor count");
            long kvCount = in.u64("metadata count");
            // a KV takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor info 8 + 4 + 8 + 4 + 8
            if (kvCount < 0 || kvCount > in.remaining() / 13) {
                throw corrupt("metadata count " + Long.toUnsignedString(kvCount) + " is impossible in a file of "
                        + in.size() + " bytes (truncated or corrupt header)");
            }
            if (tensorCount < 0 || tensorCount > in.remaining() / 32) {
                throw corrupt("tensor count " + Long.toUnsignedString(tensorCount) + " is impossible in a file of "
                        + in.size() + " bytes (truncated or corrupt header)");
            }
            Map<String, GgufValue> metadata = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                long at = in.position();
                String key = in.string("key of metadata entry " + i);
                GgufValueType type = valueType(in.u32("value type of '" + key + "'"), key, at);
                GgufValue value = readValue(type, key, 0);
                if (metadata.put(key, value) != null) {
                    throw corrupt("metadata key '" + key + "' appears twice");
                }
            }
            int alignment = alignment(metadata.get(GgufWriter.ALIGNMENT_KEY));
            Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                GgufTensorInfo t = readTensorInfo(i, alignment);
                if (tensors.put(t.name(), t) != null) {
                    throw corrupt("tensor name '" + t.name() + "' appears twice");
                }
            }
            long dataOffset = (in.position() + alignment - 1) / alignment * alignment;
            checkRanges(tensors.values(), dataOffset);
            return new GgufFile(path, (int) version, alignment, dataOffset, metadata, tensors);
        }

        private GgufValueType valueType(long id, String key, long at) {
            GgufValueType type = GgufValueType.ofId(id);
            if (type == null) {
                throw corrupt("unknown metadata value type " + id + " for key '" + key + "' (entry at byte " + at + ")");
            }
            return type;
        }

        /** Array elements read so far, against {@link #MAX_METADATA_VALUES}. */
        private long metadataValues;

        private GgufValue readValue(GgufValueType type, String key, int depth) throws IOException {
            if (type == GgufValueType.ARRAY) {
                long at = in.position();
                if (depth == MAX_ARRAY_DEPTH) {
                    throw corrupt("array '" + key + "' at byte " + at + " nests arrays more than " + MAX_ARRAY_DEPTH
                            + " deep (corrupt or hostile metadata)");
                }
                GgufValueType element = valueType(in.u32("array type of '" + key + "'"), key, at);
                long count = in.u64("array length of '" + key + "'");
                long min = element.size() == 0 ? (element == GgufValueType.ARRAY ? 12 : 8) : element.size();
                if (count < 0 || count > in.remaining() / min) {
                    throw corrupt("array '" + key + "' at byte " + at + " claims " + Long.toUnsignedString(count)
                            + " elements of " + element + ", more than the " + in.remaining()
                            + " remaining bytes hold (truncated or corrupt)");
                }
                metadataValues += count;
                if (metadataValues > MAX_METADATA_VALUES) {
                    throw corrupt("array '" + key + "' at byte " + at + " brings the metadata to more than "
                            + MAX_METADATA_VALUES + " values (corrupt or hostile metadata)");
                }
                List<Object> values = new ArrayList<>((int) Math.min(count, 1 << 16));
                for (long i = 0; i < count; i++) {
                    values.add(element == GgufValueType.ARRAY ? readValue(element, key + "[" + i + "]", depth + 1)
                            : readValue(element, key, depth + 1).value());
                }
                return GgufValue.array(element, values);
            }
            String what = "value of '" + key + "'";
            Object v = switch (type) {
                case UINT8 -> (long) in.u8(what);
                case INT8 -> (long) (byte) in.u8(what);
                case UINT16 -> (long) in.u16(what);
                case INT16 -> (long) (short) in.u16(what);
                case UINT32 -> in.u32(what);
                case INT32 -> (long) (int) in.u32(what);
                case UINT64, INT64 -> in.u64(what);
                case FLOAT32 -> Float.intBitsToFloat((int) in.u32(what));
                case FLOAT64 -> Double.longBitsToDouble(in.u64(what));
                case BOOL -> {
                    int b = in.u8(what);
                    if (b > 1) {
                        throw corrupt("bool '" + key + "' has the byte " + b + ", expected 0 or 1");
                    }
                    yield b == 1;
                }
                case STRING -> in.string(what);
                case ARRAY -> throw new AssertionError();
            };
            return GgufValue.scalar(type, v);
        }

        private int alignment(GgufValue v) {
            if (v == null) {
                return GgufWriter.DEFAULT_ALIGNMENT;
            }
            if (v.type() != GgufValueType.UINT32) {
                throw corrupt("general.alignment must be a UINT32, found " + v.type());
            }
            long a = v.asLong();
            if (a == 0 || Long.bitCount(a) != 1 || a > 1 << 30) {
                throw corrupt("general.alignment " + a + " is not a power of two");
            }
            return (int) a;
        }

        private GgufTensorInfo readTensorInfo(long i, int alignment) throws IOException {
            long at = in.position();
            String name = in.string("name of tensor " + i);
            if (name.getBytes(StandardCharsets.UTF_8).length > GgufWriter.MAX_NAME_BYTES) {
                throw corrupt("tensor name '" + name + "' is longer than " + GgufWriter.MAX_NAME_BYTES + " bytes");
            }
            long dims = in.u32("dimension count of '" + name + "'");
            if (dims < 1 || dims > GgufWriter.MAX_DIMS) {
                throw corrupt("tensor '" + name + "' has " + dims + " dimensions, ggml allows 1 to " + GgufWriter.MAX_DIMS);
            }
            long[] ne = new long[(int) dims];
            for (int d = 0; d < dims; d++) {
                ne[d] = in.u64("dimension " + d + " of '" + name + "'");
                if (ne[d] < 0) {
                    throw corrupt("tensor '" + name + "' has the negative dimension " + ne[d]);
                }
            }
            long typeId = in.u32("type of '" + name + "'");
            GgmlType type = GgmlType.ofId(typeId);
            if (type == null) {
                throw corrupt("tensor '" + name + "' (info at byte " + at + ") has the unknown ggml type id " + typeId);
            }
            long offset = in.u64("offset of '" + name + "'");
            if (ne[0] % type.blockSize() != 0) {
                throw corrupt("tensor '" + name + "' " + Arrays.toString(ne) + " of type " + type + ": ne[0] is not a"
                        + " multiple of the block size " + type.blockSize());
            }
            try {
                long n = 1;
                for (long d : ne) n = Math.multiplyExact(n, d);
                Math.multiplyExact(n / type.blockSize(), (long) type.bytesPerBlock());
            } catch (ArithmeticException e) {
                throw corrupt("tensor '" + name + "' " + Arrays.toString(ne) + " is too large");
            }
            if (offset < 0 || offset % alignment != 0) {
                throw corrupt("tensor '" + name + "' has the offset " + Long.toUnsignedString(offset)
                        + ", not a multiple of the alignment " + alignment + " (misaligned)");
            }
            return new GgufTensorInfo(name, ne, type, offset);
        }

        private void checkRanges(Iterable<GgufTensorInfo> tensors, long dataOffset) {
            long dataSize = in.size() - dataOffset;
            List<GgufTensorInfo> sorted = new ArrayList<>();
            for (GgufTensorInfo t : tensors) {
                long end = t.offset() + t.byteSize();
                if (end < 0 || end > dataSize) {
                    throw corrupt("tensor '" + t.name() + "' data [" + t.offset() + ", " + end + ") of the data"
                            + " section at byte " + dataOffset + " lies beyond the end of the file (" + in.size()
                            + " bytes): offset out of range or file truncated");
                }
                sorted.add(t);
            }
            sorted.sort(Comparator.comparingLong(GgufTensorInfo::offset));
            for (int k = 1; k < sorted.size(); k++) {
                GgufTensorInfo a = sorted.get(k - 1);
                GgufTensorInfo b = sorted.get(k);
                if (a.offset() + a.byteSize() > b.offset()) {
                    throw corrupt("the data of tensors '" + a.name() + "' and '" + b.name() + "' overlap");
                }
            }
        }

        private static String hex(byte[] b) {
            StringBuilder s = new StringBuilder();
            for (byte x : b) s.append(s.length() == 0 ? "" : " ").append(String.format("%02x", x & 0xFF));
            return s.toString();
        }

        private static String printable(byte[] b) {
            StringBuilder s = new StringBuilder();
            for (byte x : b) s.append(x >= 32 && x < 127 ? (char) x : '.');
            return s.toString();
        }
    }
}
