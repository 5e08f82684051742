package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.CRC32;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files whose checksums are all right but whose manifest is wrong: crafted by editing a valid file's manifest and
 * sealing the result as the writer does, so only the edit can be what the reader rejects.
 */
class ModelFileManifestTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private Path valid;

    @BeforeEach
    void writeValidFile() throws IOException {
        valid = dir.resolve("valid.q4j");
        ModelFileWriter.write(valid, TestModels.tiny(3)); // a.weight int4-asym-g8 [2,16], a.bias, b.weight, c.weight
    }

    @Test
    void anUneditedCraftIsReadAndByteIdenticalToTheWritersFile() throws IOException {
        Path same = craft(m -> { });
        assertThat(ModelFileReader.read(same)).isEqualTo(TestModels.tiny(3));
        assertThat(Files.readAllBytes(same)).isEqualTo(Files.readAllBytes(valid));
    }

    @Test
    void aNewerFormatVersionAsksForAnUpgrade() throws IOException {
        Path file = craft(m -> m.put("formatVersion", 3).put("toolVersion", "9.0.0"));
        rejects(file, "format version 3 is newer than this reader supports (version 2)", "written by quant4j 9.0.0",
                "upgrade quant4j");
    }

    @Test
    void anUnknownOrMissingFormatVersionIsRejected() throws IOException {
        rejects(craft(m -> m.put("formatVersion", 0)), "unknown format version 0");
        rejects(craft(m -> m.put("formatVersion", "1")), "no integer format version");
        rejects(craft(m -> m.put("formatVersion", 1.5)), "no integer format version");
        rejects(craft(m -> m.remove("formatVersion")), "no integer format version");
    }

    @Test
    void anUnknownFormatNameIsRejected() throws IOException {
        rejects(craft(m -> m.put("format", "gguf")), "unknown format name 'gguf'", "not a quant4j model file");
        rejects(craft(m -> m.remove("format")), "has no format name");
    }

    @Test
    void aShapeThatDoesNotMatchTheCodeBytesIsRejected() throws IOException {
        Path file = craft(m -> shape(tensor(m, 0), 2, 8));
        rejectsTensor(file, "a.weight", "codes take 16 bytes, but shape [2, 8] with int4-asym-g8 needs 8 bytes");
        rejectsTensor(craft(m -> shape(floatTensor(m, 0), 3)), "a.bias", "data take 8 bytes, but shape [3] has 3 fp32 values");
    }

    @Test
    void aScaleCountThatDoesNotMatchTheGranularityIsRejected() throws IOException {
        Path file = craft(m -> ((ObjectNode) tensor(m, 0).get("spec")).put("granularity", "group:4"));
        rejectsTensor(file, "a.weight", "scales take 8 bytes, but shape [2, 16] with int4-asym-g4 has 8 blocks: "
                + "8 FP16 scales = 16 bytes");
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 2).get("spec")).put("granularity", "tensor")), "c.weight",
                "scales take 8 bytes, but shape [2, 5] with fp8_e5m2-tensor has 1 blocks");
    }

    @Test
    void aGroupSizeThatDoesNotDivideTheRowIsRejected() throws IOException {
        Path file = craft(m -> ((ObjectNode) tensor(m, 0).get("spec")).put("granularity", "group:5"));
        rejectsTensor(file, "a.weight", "group size 5 does not divide the row width 16");
    }

    @Test
    void aBadSpecIsRejected() throws IOException {
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 0).get("spec")).put("format", "INT5")), "a.weight",
                "bad quantization spec");
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 0).get("spec")).put("bits", 12)), "a.weight",
                "bad quantization spec", "integer bits must be 2..8, got 12");
        rejectsTensor(craft(m -> tensor(m, 0).put("spec", "int4")), "a.weight", "bad quantization spec");
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 1).get("spec")).remove("granularity")), "b.weight",
                "is not in its canonical form");
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 0).get("spec")).put("bits", 4.0)), "a.weight",
                "is not in its canonical form");
    }

    @Test
    void duplicateTensorNamesAreRejected() throws IOException {
        rejectsTensor(craft(m -> tensor(m, 2).put("name", "a.weight")), "a.weight", "the name is used twice");
        rejectsTensor(craft(m -> floatTensor(m, 0).put("name", "b.weight")), "b.weight", "the name is used twice");
    }

    @Test
    void anEntryUsedTwiceIsRejected() throws IOException {
        Path file = craft(m -> ((ObjectNode) tensor(m, 2).get("codes")).put("entry", "quantized/0.codes"));
        rejectsTensor(file, "c.weight", "zip entry 'quantized/0.codes' is used twice");
    }

    @Test
    void aMissingOrAnUnlistedEntryIsRejected() throws IOException {
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 1).get("scales")).put("entry", "quantized/9.scales")),
                "b.weight", "the scales entry 'quantized/9.scales' is missing");
        rejects(craft(m -> { }, entries -> entries.put("notes.txt", "hello".getBytes(StandardCharsets.UTF_8))),
                "an entry 'notes.txt' that the manifest does not list");
        rejects(craft(m -> { }, entries -> entries.remove("manifest.json")), "has no manifest.json");
    }

    @Test
    void zeroPointsMustBePresentExactlyForAsymmetricSpecs() throws IOException {
        rejectsTensor(craft(m -> tensor(m, 0).remove("zeros")), "a.weight",
                "an asymmetric spec (int4-asym-g8) needs zero points, but none are stored");
        rejectsTensor(craft(m -> tensor(m, 2).set("zeros", ((ObjectNode) tensor(m, 0).get("zeros").deepCopy()).put("entry", "quantized/2.zeros"))),
                "c.weight",
                "a symmetric spec (fp8_e5m2-channel) has no zero points, but some are stored");
    }

    @Test
    void anEncodingOtherThanTheSpecsIsRejected() throws IOException {
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 0).get("scales")).put("encoding", "FP32")), "a.weight",
                "scales are stored as FP32 but the spec says FP16");
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 0).get("zeros")).put("encoding", "INT3")), "a.weight",
                "unknown number encoding 'INT3'");
        rejectsTensor(craft(m -> ((ObjectNode) tensor(m, 0).get("zeros")).put("bits", 9)), "a.weight",
                "zeros have an invalid bit width 9 for UINT");
    }

    @Test
    void aWrongOrMalformedBlobChecksumIsRejected() throws IOException {
        rejectsTensor(craft(m -> ((ObjectNode) floatTensor(m, 0).get("data")).put("crc32", "0000000g")), "a.bias",
                "field 'crc32' of 'data' is not 8 lowercase hex digits: '0000000g'");
        rejectsTensor(craft(m -> ((ObjectNode) floatTensor(m, 0).get("data")).put("crc32", "ABCDEF01")), "a.bias",
                "is not 8 lowercase hex digits");
        rejectsTensor(craft(m -> ((ObjectNode) floatTensor(m, 0).get("data")).put("crc32", "00000000")), "a.bias",
                "the data (entry 'float/0.data') fail their CRC32 check (manifest says 00000000");
    }

    @Test
    void aBlobWhoseLengthDiffersFromTheManifestIsRejected() throws IOException {
        Path file = craft(m -> { }, entries -> entries.put("float/0.data", new byte[12]));
        rejectsTensor(file, "a.bias", "the zip directory says the data entry 'float/0.data' holds 12 bytes, the manifest says 8");
    }

    @Test
    void mistypedUnknownOrMissingFieldsAreRejected() throws IOException {
        rejects(craft(m -> m.put("compression", "none")), "unexpected field 'compression' in manifest.json");
        rejectsTensor(craft(m -> tensor(m, 1).put("dtype", "int2")), "b.weight", "unexpected field 'dtype'");
        rejectsTensor(craft(m -> tensor(m, 1).put("globalScale", "NaN")), "b.weight", "'globalScale'", "not a finite number");
        rejectsTensor(craft(m -> tensor(m, 1).put("globalScale", 1e39)), "b.weight", "not a finite number");
        rejectsTensor(craft(m -> shape(tensor(m, 1), 3, -7)), "b.weight", "dimension 1 of the shape [3,-7] is not a non-negative integer");
        rejectsTensor(craft(m -> tensor(m, 1).remove("codes")), "b.weight", "has no field 'codes'");
        rejects(craft(m -> ((ArrayNode) m.get("quantizedTensors")).add(3)), "quantizedTensors[3]", "is not a JSON object");
        rejects(craft(m -> tensor(m, 1).remove("name")), "quantizedTensors[1]", "has no field 'name'");
        rejects(craft(m -> ((ObjectNode) m.get("metadata")).put("seed", 42)), "field 'seed' of 'metadata' is not a string");
        rejects(craft(m -> m.remove("floatTensors")), "manifest.json has no field 'floatTensors'");
    }

    @Test
    void aManifestThatIsNotJsonOrHasDuplicateKeysIsRejected() throws IOException {
        rejects(craftRaw("{\"format\": \"quant4j\", "), "manifest.json is not valid JSON");
        rejects(craftRaw("{\"format\": \"quant4j\", \"format\": \"quant4j\"}"), "manifest.json is not valid JSON",
                "Duplicate field 'format'");
        rejects(craftRaw("[1, 2]"), "manifest.json is not a JSON object");
        rejects(craftRaw("{} {}"), "manifest.json is not valid JSON");
    }

    @Test
    void aHugeShapeIsRejectedWithoutAllocatingIt() throws IOException {
        rejectsTensor(craft(m -> shape(tensor(m, 1), 1L << 40, 1L << 40)), "b.weight", "has more elements than an array holds");
        rejectsTensor(craft(m -> shape(floatTensor(m, 0), 600_000_000)), "a.bias",
                "600000000 fp32 values do not fit in one entry");
    }

    private static ObjectNode tensor(ObjectNode manifest, int index) {
        return (ObjectNode) manifest.get("quantizedTensors").get(index);
    }

    private static ObjectNode floatTensor(ObjectNode manifest, int index) {
        return (ObjectNode) manifest.get("floatTensors").get(index);
    }

    private static void shape(ObjectNode tensor, long... dims) {
        ArrayNode shape = tensor.putArray("shape");
        for (long d : dims) shape.add(d);
    }

    private static void rejects(Path file, String... fragments) {
        assertThatThrownBy(() -> ModelFileReader.read(file)).isInstanceOf(CorruptFileException.class)
                .hasMessageStartingWith("quant4j model file " + file + ": ").hasMessageContainingAll(fragments);
    }

    private static void rejectsTensor(Path file, String tensor, String... fragments) {
        assertThatThrownBy(() -> ModelFileReader.read(file)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining(file + ": ").hasMessageContaining("tensor '" + tensor + "': ")
                .hasMessageContainingAll(fragments);
    }

    private Path craft(Consumer<ObjectNode> editManifest) throws IOException {
        return craft(editManifest, entries -> { });
    }

    private Path craftRaw(String manifest) throws IOException {
        return craft(m -> { }, entries -> entries.put("manifest.json", manifest.getBytes(StandardCharsets.UTF_8)));
    }

    /** The valid file's entries, with the manifest and then the entries edited, sealed as the writer seals. */
    private Path craft(Consumer<ObjectNode> editManifest, Consumer<Map<String, byte[]>> editEntries) throws IOException {
        Map<String, byte[]> entries = CraftedModelFiles.entries(valid);
        String originalJson = new String(entries.get("manifest.json"), StandardCharsets.UTF_8);
        ObjectNode manifest = (ObjectNode) JSON.readTree(originalJson);
        editManifest.accept(manifest);
        if (!manifest.equals(JSON.readTree(originalJson))) {
            entries.put("manifest.json", JSON.writeValueAsBytes(manifest));
        }
        editEntries.accept(entries);
        return CraftedModelFiles.seal(dir, entries);
    }
}
