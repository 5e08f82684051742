package org.quant4j.core.io.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.io.CorruptFileException;

class GgufWriterReaderTest {
    @TempDir
    Path dir;

    private static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    /** A file with every metadata type, an F32 [2, 3] matrix and a Q8_0 tensor of 64 values. */
    private GgufWriter sample(int alignment) {
        float[] q = new float[64];
        for (int i = 0; i < q.length; i++) q[i] = (i - 30) * 0.25f;
        return new GgufWriter(alignment)
                .put("general.architecture", GgufValue.string("quant4j"))
                .put("u8", GgufValue.scalar(GgufValueType.UINT8, 200L))
                .put("i8", GgufValue.scalar(GgufValueType.INT8, -5L))
                .put("u16", GgufValue.scalar(GgufValueType.UINT16, 65535L))
                .put("i16", GgufValue.scalar(GgufValueType.INT16, -300L))
                .put("u32", GgufValue.uint32(4_000_000_000L))
                .put("i32", GgufValue.int32(-7))
                .put("f32", GgufValue.float32(1.5f))
                .put("bool", GgufValue.bool(true))
                .put("u64", GgufValue.uint64(-1L))
                .put("i64", GgufValue.int64(Long.MIN_VALUE))
                .put("f64", GgufValue.float64(Math.PI))
                .put("ünïcode", GgufValue.string("héllo ✓"))
                .put("strings", GgufValue.stringArray(List.of("a", "", "ccc")))
                .put("ints", GgufValue.int32Array(1, -2, 3))
                .put("floats", GgufValue.float32Array(0.5f, -0f))
                .put("nested", GgufValue.array(GgufValueType.ARRAY, List.of(GgufValue.int32Array(4, 5),
                        GgufValue.stringArray(List.of("x")))))
                .addTensor("w", new long[] {3, 2}, GgmlType.F32, f32(1, 2, 3, 4, 5, 6))
                .addTensor("blk.0.q", new long[] {64}, GgmlType.Q8_0, GgmlQuants.quantize(GgmlType.Q8_0, q, "q"));
    }

    @Test
    void roundTripsMetadataAndTensors() throws IOException {
        Path file = dir.resolve("m.gguf");
        sample(32).write(file);
        GgufFile g = GgufReader.read(file);
        assertThat(g.version()).isEqualTo(3);
        assertThat(g.alignment()).isEqualTo(32);
        assertThat(g.metadata().keySet()).startsWith("general.alignment", "general.architecture", "u8");
        assertThat(g.metadata().get("general.alignment")).isEqualTo(GgufValue.uint32(32));
        assertThat(g.metadata().get("u8").asLong()).isEqualTo(200);
        assertThat(g.metadata().get("i8").asLong()).isEqualTo(-5);
        assertThat(g.metadata().get("u16").asLong()).isEqualTo(65535);
        assertThat(g.metadata().get("i16").asLong()).isEqualTo(-300);
        assertThat(g.metadata().get("u32").asLong()).isEqualTo(4_000_000_000L);
        assertThat(g.metadata().get("i32")).isEqualTo(GgufValue.int32(-7));
        assertThat(g.metadata().get("f32").asFloat()).isEqualTo(1.5f);
        assertThat(g.metadata().get("bool").asBool()).isTrue();
        assertThat(g.metadata().get("u64").asLong()).isEqualTo(-1L);
        assertThat(g.metadata().get("i64").asLong()).isEqualTo(Long.MIN_VALUE);
        assertThat(g.metadata().get("f64").value()).isEqualTo(Math.PI);
        assertThat(g.metadata().get("ünïcode").asString()).isEqualTo("héllo ✓");
        assertThat(g.metadata().get("strings").asList()).containsExactly("a", "", "ccc");
        assertThat(g.metadata().get("ints")).isEqualTo(GgufValue.int32Array(1, -2, 3));
        assertThat(g.metadata().get("floats").asList()).containsExactly(0.5f, -0f);
        assertThat(g.metadata().get("nested").asList()).containsExactly(GgufValue.int32Array(4, 5),
                GgufValue.stringArray(List.of("x")));

        assertThat(g.tensorNames()).containsExactly("w", "blk.0.q");
        GgufTensorInfo w = g.tensor("w");
        assertThat(w.ne()).containsExactly(3, 2);
        assertThat(w.shape()).containsExactly(2, 3);
        assertThat(g.dequantize("w")).containsExactly(1, 2, 3, 4, 5, 6);
        GgufTensorInfo q = g.tensor("blk.0.q");
        assertThat(q.type()).isEqualTo(GgmlType.Q8_0);
        assertThat(q.offset()).isEqualTo(32); // 24 bytes of w padded to 32
        assertThat(g.dataOffset() % 32).isZero();
        assertThat(g.tensorBytes("blk.0.q")).hasSize(68);
        float[] back = g.dequantize("blk.0.q");
        float step = 8.25f / 127;
        assertThat(back[0]).isCloseTo(-7.5f, org.assertj.core.data.Offset.offset(step / 2));
        assertThat(back[63]).isCloseTo(8.25f, org.assertj.core.data.Offset.offset(8.25f * 1e-3f)); // fp16 d
        assertThat(Files.size(file)).isEqualTo(g.dataOffset() + 32 + 96); // every tensor padded to the alignment
    }

    @Test
    void headerBytesFollowTheSpec() throws IOException {
        Path file = dir.resolve("tiny.gguf");
        new GgufWriter().addTensor("t", new long[] {1}, GgmlType.F32, f32(2f)).write(file);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(b.array(), 0, 4, StandardCharsets.US_ASCII)).isEqualTo("GGUF");
        b.position(4);
        assertThat(b.getInt()).isEqualTo(3);              // version
        assertThat(b.getLong()).isEqualTo(1);             // tensor count
        assertThat(b.getLong()).isEqualTo(1);             // metadata count
        assertThat(b.getLong()).isEqualTo(17);            // key length
        byte[] key = new byte[17];
        b.get(key);
        assertThat(new String(key, StandardCharsets.UTF_8)).isEqualTo("general.alignment");
        assertThat(b.getInt()).isEqualTo(4);              // UINT32
        assertThat(b.getInt()).isEqualTo(32);
        assertThat(b.getLong()).isEqualTo(1);             // name length
        assertThat(b.get()).isEqualTo((byte) 't');
        assertThat(b.getInt()).isEqualTo(1);              // n_dims
        assertThat(b.getLong()).isEqualTo(1);             // ne[0]
        assertThat(b.getInt()).isEqualTo(0);              // GGML_TYPE_F32
        assertThat(b.getLong()).isEqualTo(0);             // offset
        assertThat(b.position()).isEqualTo(90);
        assertThat(b.array()).hasSize(96 + 32);           // header padded to 96 (90 bytes + 6), data padded to 32
        assertThat(Arrays.copyOfRange(b.array(), 90, 96)).containsOnly(0);
        assertThat(b.getFloat(96)).isEqualTo(2f);
    }

    @Test
    void honoursAnotherAlignment() throws IOException {
        Path file = dir.resolve("a64.gguf");
        sample(64).write(file);
        GgufFile g = GgufReader.read(file);
        assertThat(g.alignment()).isEqualTo(64);
        assertThat(g.dataOffset() % 64).isZero();
        assertThat(g.tensor("blk.0.q").offset()).isEqualTo(64);
        assertThat(g.dequantize("w")).containsExactly(1, 2, 3, 4, 5, 6);
    }

    @Test
    void writerRefusesBadTensors() {
        GgufWriter w = new GgufWriter();
        assertThatThrownBy(() -> w.addTensor("x".repeat(64), new long[] {1}, GgmlType.F32, f32(1)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("at most 63");
        assertThatThrownBy(() -> w.addTensor("q", new long[] {16, 2}, GgmlType.Q8_0, new byte[34]))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("ne[0] = 16");
        assertThatThrownBy(() -> w.addTensor("f", new long[] {2}, GgmlType.F32, new byte[4]))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("needs 8 bytes");
        assertThatThrownBy(() -> w.addTensor("d", new long[] {1, 1, 1, 1, 1}, GgmlType.F32, new byte[4]))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("5 dimensions");
        assertThatThrownBy(() -> w.put("general.alignment", GgufValue.uint32(64)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("constructor");
        assertThatThrownBy(() -> new GgufWriter(48)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aFailedWriteLeavesNoFileAndKeepsTheOldOne() throws IOException {
        Path file = dir.resolve("keep.gguf");
        Files.write(file, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> sample(32).write(file, out -> new FilterOutputStream(out) {
            long written;

            @Override
            public void write(int b) throws IOException {
                if (++written > 300) throw new IOException("disk full (injected)");
                super.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                for (int i = 0; i < len; i++) write(b[off + i]);
            }
        })).isInstanceOf(IOException.class).hasMessageContaining("injected");
        assertThat(Files.readAllBytes(file)).containsExactly(1, 2, 3);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }

    // ---- corrupt files ----

    private byte[] validBytes() throws IOException {
        Path file = dir.resolve("valid.gguf");
        sample(32).write(file);
        return Files.readAllBytes(file);
    }

    private CorruptFileException readCorrupt(byte[] bytes) throws IOException {
        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, bytes);
        try {
            GgufReader.read(bad);
        } catch (CorruptFileException e) {
            assertThat(e.getMessage()).startsWith(bad.toString());
            return e;
        }
        throw new AssertionError("no CorruptFileException for the corrupted file");
    }

    /** Position of the ggml type id of tensor {@code name} in the file. */
    private static int typeIdPosition(byte[] file, String name, int dims) {
        byte[] pattern = ByteBuffer.allocate(8 + name.length()).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(name.length()).put(name.getBytes(StandardCharsets.UTF_8)).array();
        for (int i = 0; i + pattern.length <= file.length; i++) {
            if (Arrays.equals(Arrays.copyOfRange(file, i, i + pattern.length), pattern)) {
                return i + pattern.length + 4 + 8 * dims;
            }
        }
        throw new AssertionError(name);
    }

    @Test
    void badMagic() throws IOException {
        byte[] b = validBytes();
        b[0] = 'F';
        assertThat(readCorrupt(b)).hasMessageContaining("bad magic 46 47 55 46").hasMessageContaining("'GGUF'");
        assertThat(readCorrupt(new byte[] {'G', 'G'})).hasMessageContaining("too short");
    }

    @Test
    void unsupportedVersion() throws IOException {
        byte[] b = validBytes();
        b[4] = 1;
        assertThat(readCorrupt(b)).hasMessageContaining("unsupported GGUF version 1");
        b[4] = 0;
        b[7] = 3;
        assertThat(readCorrupt(b)).hasMessageContaining("big endian");
    }

    @Test
    void truncatedAnywhere() throws IOException {
        byte[] b = validBytes();
        GgufFile g = GgufReader.read(dir.resolve("valid.gguf"));
        for (int length : new int[] {5, 12, 30, 100, (int) g.dataOffset() - 20, (int) g.dataOffset() + 10,
                (int) g.dataOffset() + 32 + 68 - 1}) {
            CorruptFileException e = readCorrupt(Arrays.copyOf(b, length));
            assertThat(e.getMessage()).as("cut at %d", length).containsAnyOf("truncated", "impossible");
        }
    }

    @Test
    void unknownTensorType() throws IOException {
        byte[] b = validBytes();
        int p = typeIdPosition(b, "blk.0.q", 1);
        assertThat(b[p]).isEqualTo((byte) 8); // Q8_0
        b[p] = 5; // removed Q4_2, no longer a ggml type
        assertThat(readCorrupt(b)).hasMessageContaining("tensor 'blk.0.q'").hasMessageContaining("unknown ggml type id 5");
    }

    @Test
    void misalignedAndOutOfRangeOffsets() throws IOException {
        byte[] b = validBytes();
        int p = typeIdPosition(b, "blk.0.q", 1) + 4;
        b[p] = 33;
        assertThat(readCorrupt(b)).hasMessageContaining("tensor 'blk.0.q'").hasMessageContaining("misaligned");
        b[p] = 0;
        b[p + 1] = 1; // offset 256
        assertThat(readCorrupt(b)).hasMessageContaining("tensor 'blk.0.q'").hasMessageContaining("out of range");
        b[p + 1] = 0; // offset 0: overlaps 'w'
        assertThat(readCorrupt(b)).hasMessageContaining("overlap");
    }

    @Test
    void unknownValueTypeAndImpossibleCounts() throws IOException {
        byte[] b = validBytes();
        // the first KV: key "general.alignment" (8 + 17 bytes from byte 24), then its type
        b[24 + 25] = 13;
        assertThat(readCorrupt(b)).hasMessageContaining("unknown metadata value type 13")
                .hasMessageContaining("general.alignment");
        byte[] c = validBytes();
        c[23] = 0x10; // metadata count 2^60
        assertThat(readCorrupt(c)).hasMessageContaining("metadata count");
    }
}
