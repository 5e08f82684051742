package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TimeZone;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

class ModelFileRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void readGivesBackAnEqualModelWithBitIdenticalScalesAndZeros() throws IOException {
        QuantizedModel model = TestModels.small(1);
        Path file = dir.resolve("model.q4j");
        ModelFileWriter.write(file, model);
        QuantizedModel read = ModelFileReader.read(file);

        assertThat(read).isEqualTo(model);
        assertThat(read.sourceModel()).isEqualTo("test/tiny-mlp");
        assertThat(read.metadata()).containsExactly(Map.entry("calibration", "none"), Map.entry("method", "rtn"));
        assertThat(read.quantizedTensors().keySet())
                .containsExactly("layer0.weight", "layer1.weight", "layer2.weight", "layer3.weight", "layer4.weight");
        assertThat(read.floatTensors().keySet()).containsExactly("layer0.bias", "norm.gamma");
        for (var e : model.quantizedTensors().entrySet()) {
            QuantizedTensor written = e.getValue();
            QuantizedTensor back = read.quantizedTensors().get(e.getKey());
            assertThat(back.codes()).isEqualTo(written.codes());
            assertThat(bits(back.scales())).isEqualTo(bits(written.scales()));
            if (written.zeros() != null) {
                assertThat(bits(back.zeros())).isEqualTo(bits(written.zeros()));
            }
            assertThat(Float.floatToRawIntBits(back.globalScale())).isEqualTo(Float.floatToRawIntBits(written.globalScale()));
        }
        assertThat(read.storedBytes()).isEqualTo(model.storedBytes());
    }

    /** The decoded values dequantize() uses, as raw bits. */
    private static int[] bits(EncodedArray a) {
        float[] v = a.values();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Float.floatToRawIntBits(v[i]);
        return out;
    }

    /** Real quantizer output, once the format codecs are in: every spec whose codec is implemented is checked. */
    @Test
    void dequantizeIsBitIdenticalAfterARoundTrip() throws IOException {
        Random r = new Random(7);
        float[] w = new float[8 * 64];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        List<QuantSpec> specs = List.of(QuantSpec.integer(4, false, Granularity.perGroup(32)), QuantSpec.ternary(),
                QuantSpec.nf4(false), QuantSpec.fp8E4M3(), QuantSpec.mxfp4());
        QuantizedModel.Builder b = QuantizedModel.builder();
        Map<String, float[]> before = new java.util.LinkedHashMap<>();
        for (QuantSpec spec : specs) {
            try {
                QuantizedTensor q = Quantizer.quantize(spec.shortName(), w, new long[] {8, 64}, spec);
                before.put(spec.shortName(), q.dequantizeToArray());
                b.addQuantized(spec.shortName(), q);
            } catch (UnsupportedOperationException codecNotImplementedYet) {
                // this spec's codec is still a placeholder on this branch
            }
        }
        assumeThat(before).as("no format codec is implemented on this branch yet").isNotEmpty();
        Path file = dir.resolve("quantized.q4j");
        ModelFileWriter.write(file, b.build());
        QuantizedModel read = ModelFileReader.read(file);
        before.forEach((name, values) ->
                assertThat(rawBits(read.quantizedTensors().get(name).dequantizeToArray())).as(name).isEqualTo(rawBits(values)));
    }

    private static int[] rawBits(float[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Float.floatToRawIntBits(v[i]);
        return out;
    }

    @Test
    void rewritingAReadModelGivesTheSameBytes() throws IOException {
        Path first = dir.resolve("first.q4j");
        Path second = dir.resolve("second.q4j");
        ModelFileWriter.write(first, TestModels.small(2));
        ModelFileWriter.write(second, ModelFileReader.read(first));
        assertThat(Files.readAllBytes(second)).isEqualTo(Files.readAllBytes(first));
    }

    @Test
    void theSameModelAlwaysGivesTheSameBytesWhateverTheTimeZoneAndTheMetadataOrder() throws IOException {
        QuantizedModel model = TestModels.small(3);
        Path a = dir.resolve("a.q4j");
        Path b = dir.resolve("b.q4j");
        ModelFileWriter.write(a, model);
        TimeZone zone = TimeZone.getDefault();
        try {
            TimeZone.setDefault(TimeZone.getTimeZone(zone.getRawOffset() == 0 ? "Pacific/Kiritimati" : "UTC"));
            ModelFileWriter.write(b, sameTensors(model, QuantizedModel.builder().sourceModel(model.sourceModel())
                    .metadata("calibration", "none").metadata("method", "rtn")));
        } finally {
            TimeZone.setDefault(zone);
        }
        assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
    }

    private static QuantizedModel sameTensors(QuantizedModel model, QuantizedModel.Builder builder) {
        model.quantizedTensors().forEach(builder::addQuantized);
        model.floatTensors().forEach(builder::addFloat);
        return builder.build();
    }

    @Test
    void tensorOrderIsKeptAndChangesTheBytes() throws IOException {
        QuantizedModel model = TestModels.small(4);
        QuantizedModel.Builder reversed = QuantizedModel.builder().sourceModel(model.sourceModel()).metadata(model.metadata());
        List<String> names = new ArrayList<>(model.quantizedTensors().keySet());
        java.util.Collections.reverse(names);
        names.forEach(n -> reversed.addQuantized(n, model.quantizedTensors().get(n)));
        model.floatTensors().forEach(reversed::addFloat);
        Path a = dir.resolve("a.q4j");
        Path b = dir.resolve("b.q4j");
        ModelFileWriter.write(a, model);
        ModelFileWriter.write(b, reversed.build());
        assertThat(ModelFileReader.read(b).quantizedTensors().keySet()).containsExactlyElementsOf(names);
        assertThat(ModelFileReader.read(b)).isNotEqualTo(model);
        assertThat(Files.readAllBytes(b)).isNotEqualTo(Files.readAllBytes(a));
    }

    @Test
    void fp32TensorsKeepTheirExactBitsIncludingNaNPayloadsAndNegativeZero() throws IOException {
        float[] special = {-0f, Float.intBitsToFloat(0x7FC00123), Float.MIN_VALUE, Float.NEGATIVE_INFINITY, 1e-40f};
        QuantizedModel model = QuantizedModel.builder().addFloat("special", new FloatTensor(new long[] {5}, special)).build();
        Path file = dir.resolve("special.q4j");
        ModelFileWriter.write(file, model);
        assertThat(rawBits(ModelFileReader.read(file).floatTensors().get("special").data())).isEqualTo(rawBits(special));
    }

    @Test
    void anEmptyModelRoundTrips() throws IOException {
        QuantizedModel empty = QuantizedModel.builder().build();
        Path file = dir.resolve("empty.q4j");
        ModelFileWriter.write(file, empty);
        assertThat(ModelFileReader.read(file)).isEqualTo(empty);
    }

    @Test
    void theManifestComesFirstWithItsFieldsInAFixedOrder() throws IOException {
        Path file = dir.resolve("model.q4j");
        ModelFileWriter.write(file, TestModels.small(5));
        try (ZipFile zip = new ZipFile(file.toFile())) {
            List<String> entries = zip.stream().map(ZipEntry::getName).toList();
            assertThat(entries).first().isEqualTo("manifest.json");
            assertThat(entries).contains("quantized/0.codes", "quantized/0.scales", "quantized/0.zeros",
                    "quantized/4.scales", "float/1.data").doesNotContain("quantized/1.zeros");
            assertThat(zip.stream().map(ZipEntry::getMethod)).containsOnly(ZipEntry.STORED);
            assertThat(zip.getComment()).matches("quant4j-crc32:[0-9a-f]{8}");
            String json = new String(zip.getInputStream(zip.getEntry("manifest.json")).readAllBytes(), StandardCharsets.UTF_8);
            assertThat(json).startsWith("{\n  \"format\": \"quant4j\",\n  \"formatVersion\": 1,\n  \"toolVersion\": \""
                    + ToolVersion.VERSION + "\",\n  \"sourceModel\": \"test/tiny-mlp\",\n  \"metadata\": {");
            assertThat(json).doesNotContain("\r");
            assertThat(json.indexOf("\"quantizedTensors\"")).isLessThan(json.indexOf("\"floatTensors\""));
        }
    }

    @Test
    void theToolVersionIsTheMavenProjectVersion() {
        assertThat(ToolVersion.VERSION).doesNotContain("${").matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
    }

    /** Random models: formats, granularities, encodings, asymmetric zero points, global scales, shapes of rank 1-3. */
    @Property(tries = 40)
    void randomModelsRoundTripAndRewriteToTheSameBytes(@ForAll long seed, @ForAll @IntRange(min = 0, max = 4) int tensors)
            throws IOException {
        Random r = new Random(seed);
        QuantizedModel.Builder b = QuantizedModel.builder().sourceModel("seed " + seed).metadata("seed", Long.toString(seed));
        for (int i = 0; i < tensors; i++) {
            QuantSpec spec = randomSpec(r);
            int groups = 1 + r.nextInt(3);
            int cols = spec.granularity().kind() == Granularity.Kind.GROUP ? groups * spec.granularity().groupSize()
                    : 1 + r.nextInt(40);
            long[] shape = switch (r.nextInt(3)) {
                case 0 -> new long[] {cols};
                case 1 -> new long[] {1 + r.nextInt(5), cols};
                default -> new long[] {1 + r.nextInt(3), 1, cols};
            };
            boolean applied = spec.format() != Format.INT && spec.format() != Format.TERNARY;
            // a global scale the format applies keeps every value finite (the reader checks it); INT ignores it
            float globalScale = r.nextBoolean() ? 1f
                    : Float.intBitsToFloat(applied ? 0x20000000 + r.nextInt(0x30000000) : r.nextInt(0x7F000000));
            b.addQuantized("t" + i, TestModels.tensor(r, spec, globalScale, shape));
            if (r.nextBoolean()) {
                b.addFloat("f" + i, TestModels.floats(r, r.nextInt(7)));
            }
        }
        QuantizedModel model = b.build();
        Path tryDir = Files.createTempDirectory("quant4j-roundtrip");  // jqwik does not inject @TempDir
        try {
            Path file = tryDir.resolve("model.q4j");
            ModelFileWriter.write(file, model);
            QuantizedModel read = ModelFileReader.read(file);
            assertThat(read).isEqualTo(model);
            Path again = tryDir.resolve("again.q4j");
            ModelFileWriter.write(again, read);
            assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(file));
        } finally {
            try (var files = Files.list(tryDir)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(tryDir);
        }
    }

    private static QuantSpec randomSpec(Random r) {
        Granularity g = switch (r.nextInt(3)) {
            case 0 -> Granularity.perTensor();
            case 1 -> Granularity.perChannel();
            default -> Granularity.perGroup(1 + r.nextInt(16));
        };
        NumberEncoding[] scaleEncodings = {NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16, NumberEncoding.E8M0};
        return switch (r.nextInt(5)) {
            case 0 -> QuantSpec.builder().bits(2 + r.nextInt(7)).symmetric(r.nextBoolean()).granularity(g)
                    .scaleEncoding(scaleEncodings[r.nextInt(scaleEncodings.length)])
                    .zeroEncoding(new NumberEncoding[] {NumberEncoding.UINT, NumberEncoding.FP16, NumberEncoding.FP32}[r.nextInt(3)])
                    .build();
            case 1 -> QuantSpec.builder().format(org.quant4j.core.Format.TERNARY).granularity(g).build();
            case 2 -> QuantSpec.nf4(false).toBuilder().granularity(g).build();
            case 3 -> QuantSpec.builder().format(org.quant4j.core.Format.FP8_E5M2).granularity(g).build();
            default -> QuantSpec.mxfp4().toBuilder().granularity(g).build();
        };
    }
}
