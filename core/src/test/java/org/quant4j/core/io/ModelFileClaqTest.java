package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.QuantizedModel;

/**
 * CLAQ tensors in the model file (format version 2): exact round trip, the version rules, and manifests whose
 * checksums are right but whose CLAQ parts contradict each other. Crafted files are re-sealed as the writer
 * seals, with every CLAQ part's length, CRC32 and the bits/weight made to match the edited bytes, so only the
 * edit can be what the reader rejects.
 */
class ModelFileClaqTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> PARTS = List.of("widths", "codebooks", "codes", "outlierColumnStart",
            "outlierRows", "outlierValues");

    @TempDir
    Path dir;
    private QuantizedModel model;
    private Path valid;

    /** claq.a [10, 3] widths 2, 3, 4 with 4 outliers; claq.b [6, 2] without outliers (TestModels.withClaq). */
    @BeforeEach
    void writeModelWithClaqTensors() throws IOException {
        model = TestModels.withClaq(3);
        valid = dir.resolve("claq.q4j");
        ModelFileWriter.write(valid, model);
    }

    @Test
    void claqTensorsRoundTripExactlyAndDequantizeBitIdentically() throws IOException {
        Random r = new Random(9);
        QuantizedModel tall = QuantizedModel.builder().addClaq("tall", TestModels.claq(r, 70_000, new byte[] {3, 1}, 5))
                .addClaq("plain", TestModels.claq(r, 7, new byte[] {8, 5, 1}, 2)).build();
        for (QuantizedModel m : List.of(model, tall)) {
            Path file = dir.resolve("roundtrip.q4j");
            ModelFileWriter.write(file, m);
            QuantizedModel read = ModelFileReader.read(file);
            assertThat(read).isEqualTo(m);
            assertThat(read.claqTensors().keySet()).containsExactlyElementsOf(m.claqTensors().keySet());
            for (var e : m.claqTensors().entrySet()) {
                ClaqTensor back = read.claqTensors().get(e.getKey());
                assertThat(rawBits(back.dequantizeToArray())).as(e.getKey()).isEqualTo(rawBits(e.getValue().dequantizeToArray()));
                assertThat(back.storageBytes()).isEqualTo(e.getValue().storageBytes());
            }
            assertThat(read.storedBytes()).isEqualTo(m.storedBytes());
            Path again = dir.resolve("again.q4j");
            ModelFileWriter.write(again, read);
            assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(file));
        }
    }

    @Test
    void theFileStoresExactlyTheBytesStorageBytesCountsOutlierRowsAsUint16OrInt32() throws IOException {
        Random r = new Random(4);
        ClaqTensor tall = TestModels.claq(r, 70_000, new byte[] {2}, 3);
        ModelFileWriter.write(valid, QuantizedModel.builder().addClaq("small", model.claqTensors().get("claq.a"))
                .addClaq("none", model.claqTensors().get("claq.b")).addClaq("tall", tall).build());
        try (ZipFile zip = new ZipFile(valid.toFile())) {
            assertThat(entryBytes(zip, "claq/0.")).isEqualTo(model.claqTensors().get("claq.a").storageBytes());
            assertThat(entryBytes(zip, "claq/1.")).isEqualTo(model.claqTensors().get("claq.b").storageBytes());
            assertThat(entryBytes(zip, "claq/2.")).isEqualTo(tall.storageBytes());
            assertThat(zip.getEntry("claq/0.orows").getSize()).isEqualTo(2 * 4);
            assertThat(zip.getEntry("claq/2.orows").getSize()).isEqualTo(4 * 3);
            assertThat(zip.getEntry("claq/1.ocols")).isNull();
            byte[] rows = zip.getInputStream(zip.getEntry("claq/0.orows")).readAllBytes();
            ByteBuffer le = ByteBuffer.wrap(rows).order(ByteOrder.LITTLE_ENDIAN);
            int[] expected = model.claqTensors().get("claq.a").outlierRows();
            for (int k = 0; k < expected.length; k++) assertThat(le.getShort(2 * k) & 0xFFFF).isEqualTo(expected[k]);
        }
    }

    private static long entryBytes(ZipFile zip, String prefix) {
        return zip.stream().filter(e -> e.getName().startsWith(prefix)).mapToLong(ZipEntry::getSize).sum();
    }

    @Test
    void onlyAFileWithClaqTensorsIsVersion2AndItsManifestListsThemWithFormatAndBitsPerWeight() throws IOException {
        JsonNode manifest = manifest(valid);
        assertThat(manifest.get("formatVersion").asInt()).isEqualTo(2);
        List<String> fields = new ArrayList<>();
        manifest.fieldNames().forEachRemaining(fields::add);
        assertThat(fields).containsExactly("format", "formatVersion", "toolVersion", "sourceModel", "metadata",
                "quantizedTensors", "claqTensors", "floatTensors");
        JsonNode a = manifest.get("claqTensors").get(0);
        assertThat(a.get("name").asText()).isEqualTo("claq.a");
        assertThat(a.get("format").asText()).isEqualTo("claq");
        assertThat(a.get("shape").toString()).isEqualTo("[10,3]");
        assertThat(a.get("bitsPerWeight").asDouble()).isEqualTo(model.claqTensors().get("claq.a").bitsPerWeight());
        assertThat(a.get("outliers").asInt()).isEqualTo(4);
        assertThat(manifest.get("claqTensors").get(1).has("outlierRows")).isFalse();

        Path plain = dir.resolve("plain.q4j");
        ModelFileWriter.write(plain, TestModels.small(1));
        assertThat(manifest(plain).get("formatVersion").asInt()).isEqualTo(1);
        assertThat(manifest(plain).has("claqTensors")).isFalse();
    }

    /**
     * {@code format-v1-small.q4j} was written by the writer before CLAQ support (commit 964b4ce): this reader
     * reads it, and this writer still writes the very same bytes for the same model.
     */
    @Test
    void aFileWrittenBeforeClaqSupportIsStillReadAndStillWrittenTheSame() throws IOException {
        Path old = dir.resolve("old.q4j");
        try (InputStream in = getClass().getResourceAsStream("format-v1-small.q4j")) {
            Files.write(old, in.readAllBytes());
        }
        assertThat(ModelFileReader.read(old)).isEqualTo(TestModels.small(1));
        Path now = dir.resolve("now.q4j");
        ModelFileWriter.write(now, TestModels.small(1));
        assertThat(Files.readAllBytes(now)).isEqualTo(Files.readAllBytes(old));
    }

    @Test
    void claqTensorsInAVersion1FileOrAVersion2FileWithoutTheListAreRejected() throws IOException {
        rejects(craft(e -> { }, m -> m.put("formatVersion", 1)), "unexpected field 'claqTensors' in manifest.json");
        rejects(craft(e -> { }, m -> m.remove("claqTensors")), "manifest.json has no field 'claqTensors'");
    }

    @Test
    void aWrongFormatNameOrBitsPerWeightIsRejected() throws IOException {
        rejectsTensor(craft(e -> { }, m -> claq(m, 0).put("format", "gptq")), "claq.a",
                "a CLAQ tensor has format 'gptq', expected 'claq'");
        rejectsTensor(craft(e -> { }, m -> claq(m, 0).put("bitsPerWeight", 3.0)), "claq.a",
                "bitsPerWeight says 3.0, but its parts take");
        rejectsTensor(craft(e -> { }, m -> claq(m, 1).remove("bitsPerWeight")), "claq.b", "has no field 'bitsPerWeight'");
    }

    @Test
    void widthsMustBeOneBytePerColumnEachIn1To8() throws IOException {
        rejectsTensor(craft(e -> e.put("claq/0.widths", new byte[] {2, 3}), m -> { }), "claq.a",
                "widths take 2 bytes, but shape [10, 3] has 3 columns of 10 rows");
        rejectsTensor(craft(e -> e.get("claq/0.widths")[1] = 9, m -> { }), "claq.a", "column 1 has code width 9, expected 1..8");
        rejectsTensor(craft(e -> e.get("claq/0.widths")[2] = 0, m -> { }), "claq.a", "column 2 has code width 0");
        rejectsTensor(craft(e -> e.get("claq/1.widths")[0] = (byte) 0x81, m -> { }), "claq.b", "column 0 has code width -127");
    }

    @Test
    void codebookAndCodeLengthsMustBeWhatTheWidthsGive() throws IOException {
        // widths 2, 3, 4 of 10 rows: 4 + 8 + 16 centroids, 3 + 4 + 5 code bytes; with width 3 -> 2 neither fits
        rejectsTensor(craft(e -> e.get("claq/0.widths")[1] = 2, m -> { }), "claq.a", "codebooks take 56 bytes and codes 12",
                "the column widths need 24 FP16 centroids = 48 bytes and 11 code bytes for 10 rows");
        rejectsTensor(craft(e -> e.put("claq/0.codes", Arrays.copyOf(e.get("claq/0.codes"), 13)), m -> { }), "claq.a",
                "codes 13, but the column widths need 28 FP16 centroids = 56 bytes and 12 code bytes");
        rejectsTensor(craft(e -> e.put("claq/0.codebooks", new byte[2]), m -> { }), "claq.a",
                "codebooks take 2 bytes, but shape [10, 3] has 3 columns of 10 rows: 2 to 256 FP16 centroids");
        rejectsTensor(craft(e -> e.put("claq/0.codes", new byte[40]), m -> { }), "claq.a", "codes take 40 bytes, but",
                "at 1 to 8 bits each = 6 to 30 bytes");
        rejectsTensor(craft(e -> { }, m -> ((ObjectNode) claq(m, 0).get("codebooks")).put("encoding", "BF16")), "claq.a",
                "codebooks are stored as BF16, CLAQ stores FP16");
    }

    @Test
    void outlierOffsetsMustStartAt0BeMonotoneAndStayWithinTheOutlierCount() throws IOException {
        int[] start = model.claqTensors().get("claq.a").outlierColumnStart(); // 4 values, 0 .. 4
        rejectsTensor(craft(e -> setInt(e.get("claq/0.ocols"), 0, 1), m -> { }), "claq.a",
                "outlier column offsets must be 4 values starting at 0");
        rejectsTensor(craft(e -> e.put("claq/0.ocols", new byte[16]), m -> { }), "claq.a",
                "outlier offsets end at 0 but there are 4 outlier rows");
        rejectsTensor(craft(e -> setInt(e.get("claq/0.ocols"), 2, 5), m -> { }), "claq.a", "outlier offsets of column 1 are ["
                + start[1] + ", 5), not a range of the 4 outliers");
        rejectsTensor(craft(e -> {
            setInt(e.get("claq/0.ocols"), 1, 0);
            setInt(e.get("claq/0.ocols"), 2, -1);
        }, m -> { }), "claq.a", "outlier offsets of column 1 are [0, -1)");
        rejectsTensor(craft(e -> e.put("claq/0.ocols", new byte[12]), m -> { }), "claq.a",
                "outlier column offsets take 12 bytes, but 3 columns need 4 int32 offsets = 16 bytes");
    }

    @Test
    void outlierRowsMustBeBelowTheRowCountAndStrictlyIncreasingPerColumn() throws IOException {
        rejectsTensor(craft(e -> setShort(e.get("claq/0.orows"), 0, 10), m -> { }), "claq.a",
                "must be strictly increasing in 0..9, got 10");
        rejectsTensor(craft(e -> setShort(e.get("claq/0.orows"), 0, 0xFFFF), m -> { }), "claq.a", "got 65535");
        int[] start = model.claqTensors().get("claq.a").outlierColumnStart();
        int[] rows = model.claqTensors().get("claq.a").outlierRows();
        int column = 0;
        while (start[column + 1] - start[column] < 2) column++; // 4 outliers in 3 columns: one has two
        int k = start[column] + 1;
        rejectsTensor(craft(e -> setShort(e.get("claq/0.orows"), k, rows[k - 1]), m -> { }), "claq.a",
                "outlier rows of column " + column + " must be strictly increasing");
    }

    @Test
    void outlierPartsMustMatchTheOutlierCount() throws IOException {
        rejectsTensor(craft(e -> { }, m -> claq(m, 0).put("outliers", 3)), "claq.a",
                "outlier rows take 8 bytes, but 3 outliers in 10 rows need a uint16 row each = 6 bytes");
        rejectsTensor(craft(e -> { }, m -> claq(m, 0).put("outliers", 0)), "claq.a",
                "outlier parts are stored for a tensor without outliers");
        rejectsTensor(craft(e -> e.remove("claq/0.ovalues"), m -> claq(m, 0).remove("outlierValues")), "claq.a",
                "the outlier column offsets, rows and values of its 4 outliers are not all stored");
        rejectsTensor(craft(e -> e.put("claq/0.ovalues", new byte[6]), m -> { }), "claq.a",
                "outlier values take 6 bytes, but 4 outliers need an FP16 value each = 8 bytes");
        rejectsTensor(craft(e -> { }, m -> ((ObjectNode) claq(m, 0).get("outlierValues")).put("encoding", "FP32")),
                "claq.a", "outlier values are stored as FP32, CLAQ stores FP16");
    }

    @Test
    void namesAndEntriesAreUniqueAcrossAllTensorKinds() throws IOException {
        rejectsTensor(craft(e -> { }, m -> claq(m, 1).put("name", "claq.bias")), "claq.bias", "the name is used twice");
        rejectsTensor(craft(e -> { }, m -> claq(m, 1).put("name", "q.weight")), "q.weight", "the name is used twice");
        rejectsTensor(craft(e -> { }, m -> ((ObjectNode) claq(m, 1).get("codes")).put("entry", "claq/0.codes")), "claq.b",
                "zip entry 'claq/0.codes' is used twice");
        rejectsTensor(craft(e -> { }, m -> claq(m, 1).remove("widths")), "claq.b", "has no field 'widths'");
        rejects(craft(e -> e.put("claq/7.codes", new byte[3]), m -> { }),
                "an entry 'claq/7.codes' that the manifest does not list");
    }

    private static ObjectNode claq(ObjectNode manifest, int index) {
        return (ObjectNode) manifest.get("claqTensors").get(index);
    }

    private static void setInt(byte[] littleEndian, int index, int value) {
        ByteBuffer.wrap(littleEndian).order(ByteOrder.LITTLE_ENDIAN).putInt(4 * index, value);
    }

    private static void setShort(byte[] littleEndian, int index, int value) {
        ByteBuffer.wrap(littleEndian).order(ByteOrder.LITTLE_ENDIAN).putShort(2 * index, (short) value);
    }

    private static int[] rawBits(float[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Float.floatToRawIntBits(v[i]);
        return out;
    }

    private static JsonNode manifest(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            return JSON.readTree(new String(zip.getInputStream(zip.getEntry("manifest.json")).readAllBytes(),
                    StandardCharsets.UTF_8));
        }
    }

    private static void rejects(Path file, String... fragments) {
        assertThatThrownBy(() -> ModelFileReader.read(file)).isInstanceOf(CorruptFileException.class)
                .hasMessageStartingWith("quant4j model file " + file + ": ").hasMessageContainingAll(fragments);
    }

    private static void rejectsTensor(Path file, String tensor, String... fragments) {
        assertThatThrownBy(() -> ModelFileReader.read(file)).isInstanceOf(CorruptFileException.class)
                .hasMessageStartingWith("quant4j model file " + file + ": ")
                .hasMessageContaining("tensor '" + tensor + "': ").hasMessageContainingAll(fragments);
    }

    /**
     * The valid file with its entries edited, then every listed CLAQ part's length and CRC32 and each CLAQ tensor's
     * bits/weight updated to the edited bytes, then the manifest edited, sealed as the writer seals.
     */
    private Path craft(Consumer<Map<String, byte[]>> editEntries, Consumer<ObjectNode> editManifest) throws IOException {
        Map<String, byte[]> entries = CraftedModelFiles.entries(valid);
        ObjectNode manifest = (ObjectNode) JSON.readTree(entries.get("manifest.json"));
        editEntries.accept(entries);
        for (JsonNode tensor : (ArrayNode) manifest.get("claqTensors")) {
            long stored = 0;
            for (String role : PARTS) {
                ObjectNode part = (ObjectNode) tensor.get(role);
                byte[] data = part == null ? null : entries.get(part.get("entry").asText());
                if (data != null) {
                    part.put("bytes", data.length).put("crc32", FileSeal.hex(CraftedModelFiles.crc32(data)));
                    stored += data.length;
                }
            }
            long n = 1;
            for (JsonNode d : tensor.get("shape")) n *= d.asLong();
            ((ObjectNode) tensor).put("bitsPerWeight", stored * 8.0 / n);
        }
        editManifest.accept(manifest);
        entries.put("manifest.json", JSON.writeValueAsBytes(manifest));
        return CraftedModelFiles.seal(dir, entries);
    }
}
