package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Granularity;
import org.quant4j.core.Half;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.gguf.GgmlType;
import org.quant4j.core.io.gguf.GgufExport;

/**
 * An adversary's files: a valid model of every format (made by the real quantizers), one stored value replaced by
 * a wrong one and every checksum recomputed. A seeded generator picks tensor, part, position and bad value; each
 * file must be refused with a {@link CorruptFileException} naming the tensor and the part, and an export of it must
 * leave no output file.
 */
class ResealedValuesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CASES = 150;

    @TempDir
    static Path dir;
    private static Path valid;

    /** One way to spoil a part: the bytes it writes at a random value index, and what the message must say. */
    private record Spoil(String tensor, String part, String says, BiFunction<byte[], Random, byte[]> edit) {}

    @BeforeAll
    static void writeValidFile() throws IOException {
        Random r = new Random(11);
        QuantizedModel.Builder b = QuantizedModel.builder().sourceModel("adversary");
        add(b, r, "int4.asym", QuantSpec.integer(4, false, Granularity.perGroup(32)));
        add(b, r, "int8.sym", QuantSpec.integer(8, true, Granularity.perChannel()));
        add(b, r, "int2.fp32", QuantSpec.builder().bits(2).groupSize(32).scaleEncoding(NumberEncoding.FP32).build());
        add(b, r, "int4.hqq", QuantSpec.builder().bits(4).asymmetric().groupSize(32).zeroEncoding(NumberEncoding.FP16).build());
        add(b, r, "nf4", QuantSpec.nf4(false));
        add(b, r, "nf4.dq", QuantSpec.nf4(true));
        add(b, r, "fp8.e4m3", QuantSpec.fp8E4M3());
        add(b, r, "fp8.e5m2", QuantSpec.fp8E5M2());
        add(b, r, "mxfp4", QuantSpec.mxfp4());
        add(b, r, "nvfp4", QuantSpec.nvfp4());
        add(b, r, "ternary", QuantSpec.ternary());
        b.addClaq("claq", TestModels.claq(r, 10, new byte[] {2, 3, 4}, 4));
        valid = dir.resolve("valid.q4j");
        ModelFileWriter.write(valid, b.build()); // the writer accepts what the quantizers make
        assertThat(ModelFileReader.read(valid).quantizedTensors()).hasSize(11);
    }

    private static void add(QuantizedModel.Builder b, Random r, String name, QuantSpec spec) {
        float[] w = new float[8 * 64];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.05);
        b.addQuantized(name, Quantizer.quantize(name, w, new long[] {8, 64}, spec));
    }

    /** The spoils the generator draws from: each stored part of each format, with the values that break it. */
    private static List<Spoil> spoils() {
        List<Spoil> s = new ArrayList<>();
        short[] badHalves = {0x7E00, 0x7C00, (short) 0xFC00, 0, (short) 0xBC00}; // NaN, +Inf, -Inf, 0, -1
        for (String t : List.of("int4.asym", "int8.sym", "int4.hqq", "ternary")) {
            s.add(new Spoil(t, "scales", "scales: scale", (b, r) -> putShort(b, r, badHalves[r.nextInt(badHalves.length)])));
        }
        float[] badFloats = {Float.NaN, Float.POSITIVE_INFINITY, 0f, -0.5f};
        for (String t : List.of("nf4", "fp8.e4m3", "fp8.e5m2", "int2.fp32")) {
            s.add(new Spoil(t, "scales", "scales: scale", (b, r) -> putFloat(b, r, t.equals("nf4")
                    ? badFloats[r.nextInt(2) == 0 ? 0 : 3] : badFloats[r.nextInt(badFloats.length)])));
        }
        s.add(new Spoil("int2.fp32", "scales", "too large", (b, r) -> putFloat(b, r, Float.MAX_VALUE)));
        s.add(new Spoil("fp8.e5m2", "scales", "too large", (b, r) -> putFloat(b, r, 1e34f)));
        s.add(new Spoil("mxfp4", "scales", "scales: scale", (b, r) -> putByte(b, r, 0xFF))); // E8M0 NaN
        s.add(new Spoil("nvfp4", "scales", "scales: scale", (b, r) -> putByte(b, r, r.nextBoolean() ? 0x7F : 0x00)));
        s.add(new Spoil("nf4.dq", "scales", "scales: scale", (b, r) -> { // the FP32 mean or a block absmax
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * r.nextInt(2), Float.NaN);
            return b;
        }));
        s.add(new Spoil("int4.hqq", "zeros", "zero points: zero point",
                (b, r) -> putShort(b, r, badHalves[r.nextInt(3)])));
        s.add(new Spoil("ternary", "codes", "codes: byte", (b, r) -> putByte(b, r, 243 + r.nextInt(13))));
        s.add(new Spoil("fp8.e4m3", "codes", "NaN or Inf code", (b, r) -> putByte(b, r, r.nextBoolean() ? 0x7F : 0xFF)));
        s.add(new Spoil("fp8.e5m2", "codes", "NaN or Inf code", (b, r) -> putByte(b, r, 0x7C + r.nextInt(4))));
        s.add(new Spoil("claq", "codebooks", "codebooks: centroid", (b, r) -> putShort(b, r, badHalves[r.nextInt(3)])));
        s.add(new Spoil("claq", "outlierValues", "outlier values: outlier",
                (b, r) -> putShort(b, r, badHalves[r.nextInt(3)])));
        s.add(new Spoil("claq", "outlierRows", "outlier rows", (b, r) -> putShort(b, r, (short) (10 + r.nextInt(100)))));
        return s;
    }

    @Test
    void everyResealedBadValueIsRefusedNamingTensorAndPart() throws IOException {
        List<Spoil> spoils = spoils();
        for (int seed = 0; seed < CASES; seed++) {
            Random r = new Random(seed);
            Spoil spoil = spoils.get(seed < spoils.size() ? seed : r.nextInt(spoils.size())); // each at least once
            Path file = reseal(spoil, r);
            Path gguf = dir.resolve("out-" + seed + ".gguf");
            assertThatThrownBy(() -> GgufExport.write(ModelFileReader.read(file), gguf,
                    GgufExport.Options.defaults().requantize(GgmlType.Q8_0)))
                    .as("seed %d: %s of %s", seed, spoil.part(), spoil.tensor())
                    .isInstanceOf(CorruptFileException.class)
                    .hasMessageContaining("tensor '" + spoil.tensor() + "'").hasMessageContaining(spoil.says());
            assertThat(gguf).doesNotExist();
        }
    }

    @Test
    void integerZeroPointsOutsideTheGridAreRefused() throws IOException { // an int4 tensor whose zero points are 200
        Path file = resealManifest("int4.asym", part -> {
            ObjectNode zeros = (ObjectNode) part.get("zeros");
            zeros.put("bits", 8);
            return "zeros";
        }, bytes -> {
            byte[] z = new byte[bytes.length * 2];
            java.util.Arrays.fill(z, (byte) 200);
            return z;
        });
        assertThatThrownBy(() -> ModelFileReader.read(file)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("tensor 'int4.asym'").hasMessageContaining("zeros have an invalid bit width 8")
                .hasMessageContaining("4 bits");
    }

    @Test
    void aGlobalScaleIsPositiveWhereTheFormatAppliesOne() throws IOException {
        for (String[] c : new String[][] {{"nvfp4", "0.0"}, {"nvfp4", "-2.0"}, {"fp8.e4m3", "-1.0"}}) {
            Path file = resealManifest(c[0], t -> {
                ((ObjectNode) t).put("globalScale", Float.parseFloat(c[1]));
                return null;
            }, null);
            assertThatThrownBy(() -> ModelFileReader.read(file)).as(c[0] + " " + c[1])
                    .isInstanceOf(CorruptFileException.class)
                    .hasMessageContaining("tensor '" + c[0] + "'").hasMessageContaining("global scale: is ");
        }
    }

    @Test
    void theWriterRefusesWhatTheReaderWould() throws IOException {
        QuantizedTensor good = ModelFileReader.read(valid).quantizedTensors().get("int8.sym");
        float[] scales = good.scales().values().clone();
        scales[3] = Float.NaN;
        QuantizedTensor bad = new QuantizedTensor(good.spec(), good.shape(), good.codes(),
                EncodedArray.encode(NumberEncoding.FP16, 0, scales), null, 1f);
        Path target = dir.resolve("refused.q4j");
        assertThatThrownBy(() -> ModelFileWriter.write(target, QuantizedModel.builder().addQuantized("w", bad).build()))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("tensor 'w': scales: scale 3 of 8 is NaN");
        assertThat(target).doesNotExist();
    }

    /** The valid file with one part of one tensor spoiled, its CRC32 in the manifest and the file seal recomputed. */
    private static Path reseal(Spoil spoil, Random r) throws IOException {
        return resealManifest(spoil.tensor(), t -> spoil.part(), bytes -> spoil.edit().apply(bytes, r));
    }

    /**
     * Edits the manifest record of {@code tensor} (returning the part whose blob to edit, or null), then that blob,
     * and seals the result with every checksum recomputed.
     */
    private static Path resealManifest(String tensor, java.util.function.Function<JsonNode, String> editRecord,
                                       java.util.function.UnaryOperator<byte[]> editBlob) throws IOException {
        Map<String, byte[]> entries = CraftedModelFiles.entries(valid);
        ObjectNode manifest = (ObjectNode) JSON.readTree(entries.get(ModelFileFormat.MANIFEST_ENTRY));
        JsonNode record = null;
        for (String list : List.of("quantizedTensors", "claqTensors")) {
            for (JsonNode t : manifest.path(list)) {
                if (t.get("name").asText().equals(tensor)) record = t;
            }
        }
        String part = editRecord.apply(record);
        if (part != null && editBlob != null) {
            ObjectNode p = (ObjectNode) record.get(part);
            byte[] blob = editBlob.apply(entries.get(p.get("entry").asText()).clone());
            entries.put(p.get("entry").asText(), blob);
            p.put("bytes", blob.length);
            p.put("crc32", String.format("%08x", CraftedModelFiles.crc32(blob)));
        }
        entries.put(ModelFileFormat.MANIFEST_ENTRY, JSON.writeValueAsBytes(manifest));
        return CraftedModelFiles.seal(dir, entries);
    }

    private static byte[] putShort(byte[] b, Random r, short v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(2 * r.nextInt(b.length / 2), v);
        return b;
    }

    private static byte[] putFloat(byte[] b, Random r, float v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * r.nextInt(b.length / 4), v);
        return b;
    }

    private static byte[] putByte(byte[] b, Random r, int v) {
        b[r.nextInt(b.length)] = (byte) v;
        return b;
    }
}
