package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantizedModel;

/** Every single-byte corruption, every truncation and any appended data are rejected with a clear message. */
class ModelFileCorruptionTest {
    @TempDir
    Path dir;
    private Path original;
    private byte[] bytes;
    /** Where each blob's data lies in the file, and the tensor it belongs to. */
    private final List<Blob> blobs = new ArrayList<>();

    private record Blob(String entry, String tensor, int start, int end) {}

    /** The model whose file is damaged; {@link ModelFileClaqCorruptionTest} uses one with CLAQ tensors. */
    QuantizedModel model() {
        return TestModels.tiny(11);
    }

    @BeforeEach
    void writeSmallModel() throws IOException {
        QuantizedModel model = model();
        original = dir.resolve("model.q4j");
        ModelFileWriter.write(original, model);
        bytes = Files.readAllBytes(original);
        Map<String, String> tensorOfEntry = new TreeMap<>();
        int i = 0;
        for (String name : model.quantizedTensors().keySet()) {
            for (String part : List.of("codes", "scales", "zeros", "gidx")) tensorOfEntry.put("quantized/" + i + "." + part, name);
            i++;
        }
        i = 0;
        for (String name : model.claqTensors().keySet()) {
            for (String part : List.of("widths", "codebooks", "codes", "ocols", "orows", "ovalues")) {
                tensorOfEntry.put("claq/" + i + "." + part, name);
            }
            i++;
        }
        i = 0;
        for (String name : model.floatTensors().keySet()) tensorOfEntry.put("float/" + i++ + ".data", name);
        locateBlobs(tensorOfEntry);
    }

    /** Walks the local file headers (APPNOTE.TXT 4.3.7) to find where each entry's data is. */
    private void locateBlobs(Map<String, String> tensorOfEntry) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int at = 0;
        int entries = 0;
        while (b.getInt(at) == 0x04034b50) {
            int size = b.getInt(at + 18);
            int nameLength = b.getShort(at + 26) & 0xFFFF;
            int extraLength = b.getShort(at + 28) & 0xFFFF;
            String name = new String(bytes, at + 30, nameLength, StandardCharsets.UTF_8);
            int data = at + 30 + nameLength + extraLength;
            if (tensorOfEntry.containsKey(name)) {
                blobs.add(new Blob(name, tensorOfEntry.get(name), data, data + size));
            }
            at = data + size;
            entries++;
        }
        assertThat(blobs).as("every entry but the manifest is a tensor's blob").hasSize(entries - 1).isNotEmpty();
    }

    @Test
    void theTestFileIsSmall() {
        assertThat(bytes.length).isBetween(1000, 4000);
    }

    @Test
    void everySingleByteCorruptionIsDetectedAndABlobsDamageIsReportedByTensorName() throws IOException {
        Path damaged = Files.copy(original, dir.resolve("damaged.q4j"));
        int namedByTensor = 0;
        try (FileChannel file = FileChannel.open(damaged, StandardOpenOption.WRITE)) {
            for (int mask : new int[] {0x01, 0xFF}) {
                for (int offset = 0; offset < bytes.length; offset++) {
                    file.write(ByteBuffer.wrap(new byte[] {(byte) (bytes[offset] ^ mask)}), offset);
                    CorruptFileException e = readFails(damaged, "byte " + offset + " ^ 0x" + Integer.toHexString(mask));
                    file.write(ByteBuffer.wrap(bytes, offset, 1), offset);
                    assertThat(e.getMessage()).startsWith("quant4j model file " + damaged + ": ");
                    Blob blob = blobAt(offset);
                    if (blob != null) {
                        assertThat(e.getMessage()).as("damage at %d inside %s", offset, blob.entry())
                                .contains("tensor '" + blob.tensor() + "'").contains("CRC32");
                        namedByTensor++;
                    }
                }
            }
        }
        assertThat(namedByTensor).isEqualTo(2 * blobs.stream().mapToInt(b -> b.end() - b.start()).sum());
    }

    byte[] bytes() {
        return bytes;
    }

    List<String> blobEntries() {
        return blobs.stream().map(Blob::entry).toList();
    }

    int blobStart(String entry) {
        return blobs.stream().filter(b -> b.entry().equals(entry)).findFirst().orElseThrow().start();
    }

    private Blob blobAt(int offset) {
        for (Blob b : blobs) {
            if (offset >= b.start() && offset < b.end()) return b;
        }
        return null;
    }

    @Test
    void everyTruncationIsDetected() throws IOException {
        Path truncated = Files.copy(original, dir.resolve("truncated.q4j"));
        try (FileChannel file = FileChannel.open(truncated, StandardOpenOption.WRITE)) {
            for (int length = bytes.length - 1; length >= 0; length--) {
                file.truncate(length);
                CorruptFileException e = readFails(truncated, "truncated to " + length + " bytes");
                assertThat(e.getMessage()).startsWith("quant4j model file " + truncated + ": ")
                        .as("truncated to %d", length).containsAnyOf("truncated", "empty");
            }
        }
    }

    @Test
    void appendedDataIsRejected() throws IOException {
        Path longer = dir.resolve("longer.q4j");
        byte[] tail = Arrays.copyOfRange(bytes, bytes.length - FileSeal.TAIL_LENGTH, bytes.length);
        List<byte[]> garbage = List.of(new byte[1], new byte[] {'\n'}, "PK\5\6".getBytes(StandardCharsets.ISO_8859_1),
                new byte[5000], tail, bytes);
        for (byte[] extra : garbage) {
            byte[] file = Arrays.copyOf(bytes, bytes.length + extra.length);
            System.arraycopy(extra, 0, file, bytes.length, extra.length);
            Files.write(longer, file);
            readFails(longer, extra.length + " bytes appended");
        }
        Files.write(longer, concat(bytes, new byte[] {0, 0, 0}));
        assertThatThrownBy(() -> ModelFileReader.read(longer)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("3 bytes of trailing data after the end of the archive (at offset " + bytes.length + ")");
    }

    @Test
    void prependedDataIsRejected() throws IOException {
        Path longer = dir.resolve("prefixed.q4j");
        Files.write(longer, concat("PK\3\4".getBytes(StandardCharsets.ISO_8859_1), bytes));
        readFails(longer, "prefixed");
    }

    @Test
    void aDamagedBlobIsNamedByTensorAndPart() throws IOException {
        Blob scales = blobs.stream().filter(b -> b.entry().equals("quantized/1.scales")).findFirst().orElseThrow();
        byte[] copy = bytes.clone();
        copy[scales.start()] ^= 0x10;
        Path damaged = dir.resolve("damaged.q4j");
        Files.write(damaged, copy);
        assertThatThrownBy(() -> ModelFileReader.read(damaged)).isInstanceOf(CorruptFileException.class)
                .hasMessageStartingWith("quant4j model file " + damaged + ": tensor 'b.weight': the scales (entry "
                        + "'quantized/1.scales') fail their CRC32 check");
    }

    @Test
    void damageOutsideEveryEntryIsCaughtByTheWholeFileChecksum() throws IOException {
        // the last-modified time of the first local header: java.util.zip never reads it
        byte[] copy = bytes.clone();
        copy[10] ^= 0x01;
        Path damaged = dir.resolve("damaged.q4j");
        Files.write(damaged, copy);
        assertThatThrownBy(() -> ModelFileReader.read(damaged)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("whole-file CRC32 mismatch");
    }

    @Test
    void anEmptyFileANonZipAndAPlainZipAreToldApart() throws IOException {
        Path empty = Files.write(dir.resolve("empty.q4j"), new byte[0]);
        assertThatThrownBy(() -> ModelFileReader.read(empty)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("the file is empty");
        Path text = Files.writeString(dir.resolve("notes.q4j"), "{\"format\": \"quant4j\"}");
        assertThatThrownBy(() -> ModelFileReader.read(text)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("not a zip archive");
        Path plainZip = dir.resolve("plain.zip");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(plainZip))) {
            zip.putNextEntry(new ZipEntry("manifest.json"));
            zip.write("{}".getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        }
        assertThatThrownBy(() -> ModelFileReader.read(plainZip)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("checksum comment of a quant4j model file");
    }

    @Test
    void aMissingFileIsAnIoErrorNotCorruption() {
        assertThatThrownBy(() -> ModelFileReader.read(dir.resolve("absent.q4j")))
                .isInstanceOf(java.nio.file.NoSuchFileException.class);
    }

    private static CorruptFileException readFails(Path file, String what) throws IOException {
        try {
            QuantizedModel read = ModelFileReader.read(file);
            fail("%s was read without error as %s", what, read);
            return null;
        } catch (CorruptFileException e) {
            return e;
        } catch (RuntimeException e) {
            throw new AssertionError(what + " escaped as " + e, e);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
