package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;

/** The optional group index part ({@code quantized/<i>.gidx}, GPTQ act-order's {@code g_idx}) of the model file. */
class ModelFileGroupIndexTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final QuantSpec INT4_G8 = QuantSpec.integer(4, false, Granularity.perGroup(8));

    @TempDir
    Path dir;
    private QuantizedModel model;
    private Path valid;

    /** Tensor 0 ("act.weight", [3, 16], 2 groups of 8) has a shuffled group index; tensor 1 has none. */
    @BeforeEach
    void writeModelWithAGroupIndex() throws IOException {
        Random r = new Random(5);
        QuantizedTensor plain = TestModels.tensor(r, INT4_G8, 1f, 3, 16);
        int[] groupIndex = shuffledGroups(r, 16, 8);
        QuantizedTensor actOrder = new QuantizedTensor(plain.spec(), plain.shape(), plain.codes(), plain.scales(),
                plain.zeros(), 1f, groupIndex);
        model = QuantizedModel.builder().sourceModel("test/act-order")
                .addQuantized("act.weight", actOrder)
                .addQuantized("plain.weight", TestModels.tensor(r, INT4_G8, 1f, 2, 8))
                .addFloat("act.bias", TestModels.floats(r, 3))
                .build();
        valid = dir.resolve("gidx.q4j");
        ModelFileWriter.write(valid, model);
    }

    /** Columns assigned to groups of {@code g} in a random order (every group has exactly g columns). */
    private static int[] shuffledGroups(Random r, int cols, int g) {
        int[] index = new int[cols];
        for (int c = 0; c < cols; c++) index[c] = c / g;
        for (int i = cols - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = index[i];
            index[i] = index[j];
            index[j] = t;
        }
        return index;
    }

    @Test
    void theGroupIndexRoundTripsAndDequantizesBitIdentically() throws IOException {
        QuantizedModel read = ModelFileReader.read(valid);
        assertThat(read).isEqualTo(model);
        QuantizedTensor written = model.quantizedTensors().get("act.weight");
        QuantizedTensor back = read.quantizedTensors().get("act.weight");
        assertThat(back.groupIndex()).containsExactly(written.groupIndex());
        assertThat(read.quantizedTensors().get("plain.weight").hasGroupIndex()).isFalse();
        float[] before = written.dequantizeToArray();
        float[] after = back.dequantizeToArray();
        for (int i = 0; i < before.length; i++) {
            assertThat(Float.floatToRawIntBits(after[i])).as("element %d", i).isEqualTo(Float.floatToRawIntBits(before[i]));
        }
        assertThat(back.storageBytes()).isEqualTo(written.storageBytes());
        Path again = dir.resolve("again.q4j");
        ModelFileWriter.write(again, read);
        assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(valid));
    }

    @Test
    void onlyTensorsWithAGroupIndexGetAGidxEntryOfOneLittleEndianInt32PerColumn() throws IOException {
        try (ZipFile zip = new ZipFile(valid.toFile())) {
            assertThat(zip.stream().map(ZipEntry::getName)).contains("quantized/0.gidx").doesNotContain("quantized/1.gidx");
            byte[] gidx = zip.getInputStream(zip.getEntry("quantized/0.gidx")).readAllBytes();
            int[] stored = new int[16];
            ByteBuffer.wrap(gidx).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(stored);
            assertThat(stored).containsExactly(model.quantizedTensors().get("act.weight").groupIndex());
            String json = new String(zip.getInputStream(zip.getEntry("manifest.json")).readAllBytes(), StandardCharsets.UTF_8);
            assertThat(json).contains("\"groupIndex\": {").contains("\"formatVersion\": 1");
        }
    }

    @Test
    void aDamagedGroupIndexIsReportedByTensorName() throws IOException {
        Path damaged = craft(m -> { }, entries -> entries.get("quantized/0.gidx")[5] ^= 0x10);
        assertThatThrownBy(() -> ModelFileReader.read(damaged)).isInstanceOf(CorruptFileException.class)
                .hasMessageContainingAll("tensor 'act.weight'", "group index", "CRC32");
    }

    @Test
    void aGroupIndexOfTheWrongLengthIsRejected() throws IOException {
        Path shorter = craft(m -> part(m).put("bytes", 60), entries -> {
            byte[] gidx = entries.get("quantized/0.gidx");
            entries.put("quantized/0.gidx", java.util.Arrays.copyOf(gidx, 60));
        }, true);
        assertThatThrownBy(() -> ModelFileReader.read(shorter)).isInstanceOf(CorruptFileException.class)
                .hasMessageContainingAll("tensor 'act.weight'", "group index take 60 bytes", "16 columns");
    }

    @Test
    void aGroupOutsideTheTensorOrAnUnevenGroupIsRejected() throws IOException {
        Path outOfRange = craft(m -> { }, entries -> setInt(entries.get("quantized/0.gidx"), 3, 2), true);
        assertThatThrownBy(() -> ModelFileReader.read(outOfRange)).isInstanceOf(CorruptFileException.class)
                .hasMessageContainingAll("tensor 'act.weight'", "column 3", "group 2", "outside 0..1");
        Path negative = craft(m -> { }, entries -> setInt(entries.get("quantized/0.gidx"), 0, -1), true);
        assertThatThrownBy(() -> ModelFileReader.read(negative)).isInstanceOf(CorruptFileException.class)
                .hasMessageContainingAll("tensor 'act.weight'", "column 0", "group -1");
        int[] index = model.quantizedTensors().get("act.weight").groupIndex();
        int other = index[0] == 0 ? 1 : 0;
        Path uneven = craft(m -> { }, entries -> setInt(entries.get("quantized/0.gidx"), 0, other), true);
        assertThatThrownBy(() -> ModelFileReader.read(uneven)).isInstanceOf(CorruptFileException.class)
                .hasMessageContainingAll("tensor 'act.weight'", "expected 8");
    }

    @Test
    void aGroupIndexOnATensorWithoutGroupsIsRejected() throws IOException {
        Path perChannel = craft(m -> {
            ObjectNode t = (ObjectNode) m.get("quantizedTensors").get(0);
            t.set("spec", tree(INT4_G8.toBuilder().perChannel().build().toJson()));
            for (String role : List.of("scales", "zeros")) { // one scale and zero point per row now
                ObjectNode array = (ObjectNode) t.get(role);
                array.put("bytes", NumberEncodings.byteLength(NumberEncoding.valueOf(array.get("encoding").asText()),
                        array.get("bits").asInt(), 3));
            }
        }, entries -> { }, true);
        assertThatThrownBy(() -> ModelFileReader.read(perChannel)).isInstanceOf(CorruptFileException.class)
                .hasMessageContainingAll("tensor 'act.weight'", "a group index is stored", "no column groups");
    }

    @Test
    void anUnlistedGidxEntryIsRejected() throws IOException {
        Path unlisted = craft(m -> ((ObjectNode) m.get("quantizedTensors").get(0)).remove("groupIndex"), entries -> { });
        assertThatThrownBy(() -> ModelFileReader.read(unlisted)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("entry 'quantized/0.gidx' that the manifest does not list");
    }

    private static ObjectNode part(ObjectNode manifest) {
        return (ObjectNode) manifest.get("quantizedTensors").get(0).get("groupIndex");
    }

    private static void setInt(byte[] littleEndian, int index, int value) {
        ByteBuffer.wrap(littleEndian).order(ByteOrder.LITTLE_ENDIAN).putInt(4 * index, value);
    }

    private Path craft(Consumer<ObjectNode> editManifest, Consumer<Map<String, byte[]>> editEntries) throws IOException {
        return craft(editManifest, editEntries, false);
    }

    /**
     * The valid file's entries with the manifest and then the entries edited, sealed as the writer seals; with
     * {@code fixCrc} the manifest's CRC of the gidx part is updated, so only the edited content is wrong.
     */
    private Path craft(Consumer<ObjectNode> editManifest, Consumer<Map<String, byte[]>> editEntries, boolean fixCrc)
            throws IOException {
        Map<String, byte[]> entries = CraftedModelFiles.entries(valid);
        ObjectNode manifest = (ObjectNode) JSON.readTree(entries.get("manifest.json"));
        editManifest.accept(manifest);
        editEntries.accept(entries);
        if (fixCrc && part(manifest) != null) {
            part(manifest).put("crc32", FileSeal.hex(CraftedModelFiles.crc32(entries.get("quantized/0.gidx"))));
        }
        entries.put("manifest.json", JSON.writeValueAsBytes(manifest));
        return CraftedModelFiles.seal(dir, entries);
    }

    private static JsonNode tree(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
