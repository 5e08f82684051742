package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.core.io.gguf.GgmlType;
import org.quant4j.core.io.gguf.GgufExport;
import org.quant4j.core.io.gguf.GgufReader;

/** {@code quant4j export}, run in-process through {@link Main}. */
class ExportCommandTest {
    @TempDir
    Path dir;

    private static Launcher.Result run(String... args) {
        return Launcher.inProcess(args);
    }

    private static QuantizedTensor tensor(long seed, int rows, int cols, QuantSpec spec) {
        Random rnd = new Random(seed);
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * 0.1);
        return Quantizer.quantize("t", x, new long[] {rows, cols}, spec);
    }

    private Path modelFile(boolean withInt3) throws Exception {
        QuantizedModel.Builder b = QuantizedModel.builder().sourceModel("cli-test")
                .addQuantized("fc1.weight", tensor(1, 32, 64, QuantSpec.builder().bits(8).groupSize(32).build()))
                .addQuantized("fc2.weight", tensor(2, 16, 32, QuantSpec.builder().bits(4).groupSize(32).build()))
                .addFloat("fc1.bias", new FloatTensor(new long[] {32}, new float[32]));
        if (withInt3) {
            b.addQuantized("fc3.weight", tensor(3, 8, 32, QuantSpec.builder().bits(3).groupSize(32).build()));
        }
        Path file = dir.resolve(withInt3 ? "int3.q4j" : "exact.q4j");
        ModelFileWriter.write(file, b.build());
        return file;
    }

    @Test
    void exportsExactlyConvertibleTensors() throws Exception {
        Path in = modelFile(false);
        Path out = dir.resolve("m.gguf");
        Launcher.Result r = run("export", "--in", in.toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("fc1.weight", "q8_0", "fc2.weight", "q4_0", "exact", "fc1.bias", "f32", "wrote");
        QuantizedModel model = org.quant4j.core.io.ModelFileReader.read(in);
        Map<String, FloatTensor> back = GgufExport.read(out);
        for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
            assertThat(back.get(e.getKey()).data()).as(e.getKey()).containsExactly(e.getValue().dequantizeToArray());
        }
        assertThat(GgufReader.read(out).metadata().get("general.name").asString()).isEqualTo("cli-test");
    }

    @Test
    void refusesInexactTensorsUnlessRequantizeIsGiven() throws Exception {
        Path in = modelFile(true);
        Path out = dir.resolve("r.gguf");
        Launcher.Result refused = run("export", "--in", in.toString(), "--out", out.toString());
        assertThat(refused.code()).isEqualTo(Main.FAILURE);
        assertThat(refused.err()).contains("tensor 'fc3.weight'", "int3-sym-g32", "requantize");
        assertThat(out).doesNotExist();

        Launcher.Result ok = run("export", "--in", in.toString(), "--out", out.toString(), "--requantize", "q8_0", "--arch",
                "mlp");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).containsPattern("fc3\\.weight\\s+q8_0\\s+requantized");
        assertThat(GgufReader.read(out).tensor("fc3.weight").type()).isEqualTo(GgmlType.Q8_0);
        assertThat(GgufReader.read(out).metadata().get("general.architecture").asString()).isEqualTo("mlp");
    }

    @Test
    void usageErrors() throws Exception {
        Path in = modelFile(false);
        Launcher.Result bad = run("export", "--in", in.toString(), "--out", dir.resolve("x.gguf").toString(), "--requantize", "iq2_xxs");
        assertThat(bad.code()).isEqualTo(Main.USAGE);
        assertThat(bad.err()).contains("--requantize must be one of");
        Launcher.Result missing = run("export", "--in", in.toString());
        assertThat(missing.code()).isEqualTo(Main.USAGE);
        assertThat(missing.err()).contains("--out");
        assertThat(Files.exists(dir.resolve("x.gguf"))).isFalse();
    }
}
