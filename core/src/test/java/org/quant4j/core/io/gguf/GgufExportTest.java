package org.quant4j.core.io.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.CorruptFileException;

class GgufExportTest {
    @TempDir
    Path dir;

    private static float[] gaussian(long seed, int n, boolean nonNegative) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double v = rnd.nextGaussian() * 0.05;
            x[i] = (float) (nonNegative ? Math.abs(v) : v);
        }
        return x;
    }

    private static QuantizedTensor q(long seed, long rows, long cols, QuantSpec spec, boolean nonNegative) {
        return Quantizer.quantize("t" + seed, gaussian(seed, (int) (rows * cols), nonNegative),
                new long[] {rows, cols}, spec);
    }

    private static final QuantSpec INT8_G32 = QuantSpec.builder().bits(8).groupSize(32).build();
    private static final QuantSpec INT4_G32 = QuantSpec.builder().bits(4).groupSize(32).build();
    private static final QuantSpec INT4_ASYM_G32 = QuantSpec.builder().bits(4).asymmetric().groupSize(32).build();
    private static final QuantSpec INT5_G32 = QuantSpec.builder().bits(5).groupSize(32).build();
    private static final QuantSpec INT5_ASYM_G32 = QuantSpec.builder().bits(5).asymmetric().groupSize(32).build();

    /** Exactly convertible tensors: int8 and int4 symmetric g32, int4 asymmetric g32 with zero points 0, a bias. */
    private static QuantizedModel exactModel() {
        return QuantizedModel.builder().sourceModel("unit-test-mlp").metadata("method", "rtn")
                .addQuantized("blk.0.ffn_up.weight", q(1, 64, 96, INT8_G32, false))
                .addQuantized("blk.0.ffn_down.weight", q(2, 96, 64, INT4_G32, false))
                .addQuantized("blk.0.attn_q.weight", q(3, 32, 64, INT4_ASYM_G32, true))
                .addQuantized("blk.0.attn_k.weight", q(21, 32, 64, INT5_G32, false))
                .addQuantized("blk.0.attn_v.weight", q(22, 32, 96, INT5_ASYM_G32, true))
                .addFloat("blk.0.ffn_up.bias", new FloatTensor(new long[] {64}, gaussian(4, 64, false)))
                .build();
    }

    private static void assertBitEqual(float[] actual, float[] expected, String what) {
        int[] a = new int[actual.length];
        int[] e = new int[expected.length];
        for (int i = 0; i < a.length; i++) a[i] = Float.floatToIntBits(actual[i]);
        for (int i = 0; i < e.length; i++) e[i] = Float.floatToIntBits(expected[i]);
        assertThat(a).as(what).containsExactly(e);
    }

    @Test
    void exactConversionsDequantizeBitForBit() throws IOException {
        QuantizedModel model = exactModel();
        Path file = dir.resolve("exact.gguf");
        List<GgufExport.Entry> entries = GgufExport.write(model, file, GgufExport.Options.defaults());
        assertThat(entries).extracting(GgufExport.Entry::type)
                .containsExactly(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.F32);
        assertThat(entries).extracting(GgufExport.Entry::conversion).containsExactly(GgufExport.Conversion.EXACT,
                GgufExport.Conversion.EXACT, GgufExport.Conversion.EXACT, GgufExport.Conversion.EXACT,
                GgufExport.Conversion.EXACT, GgufExport.Conversion.FLOAT);

        Map<String, FloatTensor> back = GgufExport.read(file);
        assertThat(back.keySet()).containsExactly("blk.0.ffn_up.weight", "blk.0.ffn_down.weight",
                "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.ffn_up.bias");
        for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
            FloatTensor f = back.get(e.getKey());
            assertThat(f.shape()).isEqualTo(e.getValue().shape());
            assertBitEqual(f.data(), e.getValue().dequantizeToArray(), e.getKey());
        }
        assertBitEqual(back.get("blk.0.ffn_up.bias").data(), model.floatTensors().get("blk.0.ffn_up.bias").data(),
                "bias");

        GgufFile g = GgufReader.read(file);
        assertThat(g.tensor("blk.0.ffn_up.weight").ne()).containsExactly(96, 64); // [out, in] -> ne = [in, out]
        assertThat(g.metadata().get("general.architecture").asString()).isEqualTo("quant4j");
        assertThat(g.metadata().get("general.name").asString()).isEqualTo("unit-test-mlp");
        assertThat(g.metadata()).doesNotContainKey("general.file_type"); // five weight types
        assertThat(g.metadata().get("general.quantization_version").asLong()).isEqualTo(2);
        assertThat(g.metadata().get("quant4j.metadata.method").asString()).isEqualTo("rtn");
        assertThat(g.metadata().get("quant4j.tensor_conversions").asList())
                .containsExactly("exact", "exact", "exact", "exact", "exact", "float");
        assertThat(QuantSpec.fromJson((String) g.metadata().get("quant4j.tensor_sources").asList().get(1)))
                .isEqualTo(INT4_G32);
    }

    @Test
    void uniformWeightsNameTheFileType() throws IOException {
        QuantizedModel model = QuantizedModel.builder()
                .addQuantized("a", q(5, 8, 64, INT8_G32, false)).addQuantized("b", q(6, 4, 32, INT8_G32, false))
                .addFloat("c", new FloatTensor(new long[] {3}, new float[] {1, 2, 3})).build();
        Path file = dir.resolve("q8.gguf");
        GgufExport.write(model, file, GgufExport.Options.defaults().architecture("llama").name("tiny"));
        GgufFile g = GgufReader.read(file);
        assertThat(g.metadata().get("general.file_type")).isEqualTo(GgufValue.uint32(7)); // MOSTLY_Q8_0
        assertThat(g.metadata().get("general.architecture").asString()).isEqualTo("llama");
        assertThat(g.metadata().get("general.name").asString()).isEqualTo("tiny");
    }

    @Test
    void asymmetricInt4WithoutAnFp16MIsNotExact() {
        // gaussian rows have zero points near 8: -zero·scale usually needs more than fp16's 11 bits
        QuantizedTensor t = q(7, 16, 64, INT4_ASYM_G32, false);
        ExactGgmlConversion.Result r = ExactGgmlConversion.convert(t);
        assertThat(r.type()).isNull();
        assertThat(r.reason()).contains("not an fp16 value");
        QuantizedModel model = QuantizedModel.builder().addQuantized("w.asym", t).build();
        assertThatThrownBy(() -> GgufExport.write(model, dir.resolve("x.gguf"), GgufExport.Options.defaults()))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("'w.asym'")
                .hasMessageContaining("int4-asym-g32").hasMessageContaining("requantize");
    }

    /** Tensors with no exact ggml type, each with the reason. */
    private static QuantizedModel inexactModel() {
        QuantizedTensor grouped = q(13, 16, 64, INT4_G32, false);
        int[] index = new int[64];
        for (int c = 0; c < 64; c++) index[c] = (c % 2); // interleaved groups (act-order)
        QuantizedTensor actOrder = new QuantizedTensor(grouped.spec(), grouped.shape(), grouped.codes(),
                grouped.scales(), null, 1f, index);
        return QuantizedModel.builder()
                .addQuantized("int3", q(8, 16, 64, QuantSpec.builder().bits(3).groupSize(32).build(), false))
                .addQuantized("int4.g128", q(9, 16, 128, QuantSpec.builder().bits(4).groupSize(128).build(), false))
                .addQuantized("nf4", q(10, 8, 128, QuantSpec.nf4(true), false))
                .addQuantized("fp8", q(11, 16, 64, QuantSpec.fp8E4M3(), false))
                .addQuantized("int8.fp32scales", q(12, 16, 64,
                        QuantSpec.builder().bits(8).groupSize(32).scaleEncoding(NumberEncoding.FP32).build(), false))
                .addQuantized("int4.actorder", actOrder)
                .addFloat("bias", new FloatTensor(new long[] {32}, gaussian(14, 32, false)))
                .build();
    }

    @Test
    void refusesWhatIsNotExactUnlessAskedAndLeavesNoFile() throws IOException {
        Path file = dir.resolve("refused.gguf");
        assertThatThrownBy(() -> GgufExport.write(inexactModel(), file, GgufExport.Options.defaults()))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("tensor 'int3' (int3-sym-g32")
                .hasMessageContaining("no exact GGUF type").hasMessageContaining("Options.requantize");
        Files.write(file, new byte[] {42});
        for (String name : List.of("int4.g128", "nf4", "fp8", "int8.fp32scales", "int4.actorder")) {
            QuantizedModel one = QuantizedModel.builder()
                    .addQuantized(name, inexactModel().quantizedTensors().get(name)).build();
            assertThatThrownBy(() -> GgufExport.write(one, file, GgufExport.Options.defaults()))
                    .as(name).isInstanceOf(InvalidSpecException.class).hasMessageContaining("'" + name + "'");
        }
        assertThat(Files.readAllBytes(file)).containsExactly(42); // the existing target is untouched
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(file); // and no temporary file is left
        }
    }

    @Test
    void requantizesOnRequestWithinTheTypesBound() throws IOException {
        QuantizedModel model = inexactModel();
        for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_0, GgmlType.Q4_1,
                GgmlType.F16, GgmlType.F32)) {
            Path file = dir.resolve("rq-" + type + ".gguf");
            List<GgufExport.Entry> entries = GgufExport.write(model, file,
                    GgufExport.Options.defaults().requantize(type));
            assertThat(entries).filteredOn(e -> e.conversion() == GgufExport.Conversion.REQUANTIZED)
                    .hasSize(6).allMatch(e -> e.type() == type);
            Map<String, FloatTensor> back = GgufExport.read(file);
            for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
                float[] expected = e.getValue().dequantizeToArray();
                float[] actual = back.get(e.getKey()).data();
                if (type == GgmlType.F32) {
                    assertBitEqual(actual, expected, e.getKey());
                    continue;
                }
                for (int b = 0; b < expected.length / 32; b++) {
                    float[] x = Arrays.copyOfRange(expected, 32 * b, 32 * b + 32);
                    double bound = blockBound(type, x);
                    for (int j = 0; j < 32; j++) {
                        int i = 32 * b + j;
                        assertThat((double) Math.abs(actual[i] - expected[i]))
                                .as("%s %s element %d", type, e.getKey(), i).isLessThanOrEqualTo(bound);
                    }
                }
            }
            assertBitEqual(back.get("bias").data(), model.floatTensors().get("bias").data(), "bias stays F32");
        }
    }

    /** ggml's error bound for one block (see GgmlQuantsTest), with fp16 slack. */
    private static double blockBound(GgmlType type, float[] x) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        float amax = 0;
        for (float v : x) {
            min = Math.min(min, v);
            max = Math.max(max, v);
            amax = Math.max(amax, Math.abs(v));
        }
        double slack = 1e-3 * amax + 4 * Math.ulp(amax);
        return switch (type) {
            case Q8_0 -> amax / 127.0 / 2 + slack;
            case Q4_0 -> amax / 8.0 + slack; // a full step on the clipped side
            case Q4_1 -> (max - min) / 15.0 / 2 + slack;
            case Q5_0 -> amax / 16.0 + slack;
            case Q5_1 -> (max - min) / 31.0 / 2 + slack;
            default -> amax * Math.pow(2, -11) + 1e-7; // F16, relative half-ulp (plus subnormals)
        };
    }

    @Test
    void floatTensorsMayBeWrittenAsF16OnRequest() throws IOException {
        Path file = dir.resolve("f16.gguf");
        float[] bias = {1f, 0.1f, -3.3f};
        QuantizedModel model = QuantizedModel.builder()
                .addFloat("b", new FloatTensor(new long[] {3}, bias)).build();
        List<GgufExport.Entry> entries = GgufExport.write(model, file,
                GgufExport.Options.defaults().floatTensors(GgmlType.F16));
        assertThat(entries.get(0).type()).isEqualTo(GgmlType.F16);
        float[] back = GgufExport.read(file).get("b").data();
        for (int i = 0; i < 3; i++) {
            assertThat(back[i]).isEqualTo(org.quant4j.core.Half.toFloat(org.quant4j.core.Half.fromFloat(bias[i])));
        }
    }

    @Test
    void refusesABlockTypeOnARowThatIsNotAMultipleOfItsBlock() {
        QuantizedModel model = QuantizedModel.builder()
                .addQuantized("w", q(15, 4, 48, QuantSpec.builder().bits(4).groupSize(16).build(), false)).build();
        assertThatThrownBy(() -> GgufExport.write(model, dir.resolve("b.gguf"),
                GgufExport.Options.defaults().requantize(GgmlType.Q8_0)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("tensor 'w'")
                .hasMessageContaining("48").hasMessageContaining("F16 or F32");
        assertThatThrownBy(() -> GgufExport.write(model, dir.resolve("k.gguf"),
                GgufExport.Options.defaults().requantize(GgmlType.Q4_K)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("tensor 'w'")
                .hasMessageContaining("block size 256");
        assertThatThrownBy(() -> GgufExport.Options.defaults().requantize(GgmlType.IQ2_XXS))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("IQ2_XXS");
    }

    @Test
    void corruptExportsAreReportedClearly() throws IOException {
        Path file = dir.resolve("c.gguf");
        GgufExport.write(exactModel(), file, GgufExport.Options.defaults());
        byte[] bytes = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.gguf");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 100));
        assertThatThrownBy(() -> GgufExport.read(cut)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("cut.gguf").hasMessageContaining("truncated");
        bytes[2] = 'X';
        Path magic = dir.resolve("magic.gguf");
        Files.write(magic, bytes);
        assertThatThrownBy(() -> GgufExport.read(magic)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("bad magic");
    }
}
