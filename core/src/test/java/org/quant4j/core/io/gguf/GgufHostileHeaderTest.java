package org.quant4j.core.io.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.io.CorruptFileException;

/**
 * GGUF headers an adversary would write: arrays nested thousands deep, counts and lengths far beyond the file, names
 * with terminal escapes, and a seeded generator of random header edits of a valid file. Each must end in a
 * {@link CorruptFileException} (or a valid parse), never a {@link StackOverflowError}, an out-of-memory or another
 * exception.
 */
class GgufHostileHeaderTest {
    private static final int ARRAY = GgufValueType.ARRAY.id();

    @TempDir
    Path dir;

    /** A little-endian GGUF header: magic, version 3, the counts, then whatever {@code body} writes. */
    private static final class Header {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Header(long tensors, long kvs) {
            bytes.writeBytes(GgufWriter.MAGIC);
            u32(3).u64(tensors).u64(kvs);
        }

        Header u32(long v) {
            bytes.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
            return this;
        }

        Header u64(long v) {
            bytes.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        Header string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes.writeBytes(b);
            return this;
        }

        Path write(Path dir) throws IOException {
            return Files.write(Files.createTempFile(dir, "hostile", ".gguf"), bytes.toByteArray());
        }
    }

    private static void refused(Path file, String... fragments) {
        assertThatThrownBy(() -> GgufReader.read(file)).isInstanceOf(CorruptFileException.class)
                .hasMessageContainingAll(fragments);
    }

    @Test
    void arraysNestedThousandsDeepAreRefusedWithoutOverflowingTheStack() throws IOException {
        Header h = new Header(0, 1).string("deep").u32(ARRAY);
        for (int d = 0; d < 5000; d++) h.u32(ARRAY).u64(1);
        h.u32(GgufValueType.UINT8.id()).u64(0);
        refused(h.write(dir), "array 'deep", "nests arrays more than " + GgufReader.MAX_ARRAY_DEPTH + " deep");
    }

    @Test
    void arraysNestedWithinTheBoundAreRead() throws IOException {
        Header h = new Header(0, 1).string("nested").u32(ARRAY);
        for (int d = 0; d < GgufReader.MAX_ARRAY_DEPTH - 1; d++) h.u32(ARRAY).u64(1);
        h.u32(GgufValueType.UINT8.id()).u64(0);
        assertThat(GgufReader.read(h.write(dir)).metadata()).containsKey("nested");
    }

    @Test
    void countsAndLengthsBeyondTheRemainingBytesAreRefused() throws IOException {
        refused(new Header(0, 1).string("a").u32(ARRAY).u32(GgufValueType.UINT64.id()).u64(Long.MAX_VALUE / 4).write(dir),
                "array 'a'", "claims", "remaining bytes");
        refused(new Header(0, 1).string("s").u32(GgufValueType.STRING.id()).u64(1L << 40).write(dir),
                "claims 1099511627776 bytes");
        refused(new Header(0, 1).u64(-1).u64(0).u64(0).write(dir), "claims 18446744073709551615 bytes");
        refused(new Header(Long.MAX_VALUE, 0).write(dir), "tensor count", "impossible");
        refused(new Header(0, 1L << 40).write(dir), "metadata count", "impossible");
    }

    @Test
    void moreMetadataValuesThanAnyRealFileHoldsAreRefusedBeforeTheyFillTheHeap() throws IOException {
        long half = GgufReader.MAX_METADATA_VALUES / 2 + 1; // each array alone is allowed, both together are not
        Header h = new Header(0, 2);
        for (String key : new String[] {"bytes1", "bytes2"}) {
            h.string(key).u32(ARRAY).u32(GgufValueType.UINT8.id()).u64(half);
            h.bytes.writeBytes(new byte[(int) half]);
        }
        refused(h.write(dir), "array 'bytes2'", "more than " + GgufReader.MAX_METADATA_VALUES + " values");
    }

    @Test
    void namesAndKeysWithTerminalEscapesAreEscapedInMessages() throws IOException {
        Path file = new Header(0, 1).string("\u001b[2J\u001b[Hkey\r").u32(99).write(dir);
        assertThatThrownBy(() -> GgufReader.read(file)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("\\x1b[2J\\x1b[Hkey\\x0d").satisfies(e ->
                        assertThat(e.getMessage()).doesNotContain("\u001b").doesNotContain("\r"));
    }

    @Test
    void randomHeaderEditsOfAValidFileAreParsedOrRefusedCleanly() throws IOException {
        Path valid = dir.resolve("valid.gguf");
        new GgufWriter().put("general.architecture", GgufValue.string("quant4j"))
                .put("tokens", GgufValue.stringArray(java.util.List.of("a", "bb", "ccc")))
                .put("nested", GgufValue.array(GgufValueType.ARRAY, java.util.List.of(GgufValue.int32Array(1, 2))))
                .addTensor("t", new long[] {32}, GgmlType.F32, new byte[128]).write(valid);
        byte[] original = Files.readAllBytes(valid);
        int header = (int) GgufReader.read(valid).dataOffset();
        for (int seed = 0; seed < 300; seed++) {
            Random r = new Random(seed);
            byte[] b = original.clone();
            int at = 4 + r.nextInt(header - 4);
            switch (r.nextInt(3)) { // a random byte, an all-ones or a huge little-endian count
                case 0 -> b[at] = (byte) r.nextInt(256);
                case 1 -> b[at] = (byte) 0xFF;
                default -> ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(Math.min(at, b.length - 8),
                        r.nextLong() >>> r.nextInt(64));
            }
            Path file = Files.write(dir.resolve("edit.gguf"), b);
            try {
                GgufReader.read(file);
            } catch (CorruptFileException expected) {
                assertThat(expected.getMessage()).startsWith(file.toString());
            } catch (Throwable other) {
                fail("seed " + seed + ": byte " + at + " edited: " + other, other);
            }
        }
    }
}
