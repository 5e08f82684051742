package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.NpyFile;

/**
 * Runs the real launcher {@code bin/quant4j} ({@link Launcher}) on real files and checks output, files and exit
 * codes.
 */
class LauncherTest {
    @TempDir
    static Path dir;
    static Path weights;

    @BeforeAll
    static void writeInput() throws IOException {
        weights = dir.resolve("fc1.npy");
        Random r = new Random(7);
        float[] w = new float[64 * 256];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.05);
        }
        NpyFile.write(weights, new long[] {64, 256}, w);
    }

    static Launcher.Result run(String... args) throws Exception {
        return Launcher.run(dir, "1g", args);
    }

    @Test
    void helpListsTheCommandsAndExitsZero() throws Exception {
        Launcher.Result r = run("--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("quantize-tensor", "inspect", "exit codes");
        Launcher.Result sub = run("quantize-tensor", "--help");
        assertThat(sub.code()).isZero();
        assertThat(sub.out()).contains("--out", "--format", "--group-size", "--bits");
    }

    @Test
    void usageErrorsExitTwoWithOneLineOnStderr() throws Exception {
        Launcher.Result none = run();
        assertThat(none.code()).isEqualTo(2);
        Launcher.Result unknown = run("frobnicate");
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err().strip()).contains("unknown command 'frobnicate'").doesNotContain("\n");
        Launcher.Result noOut = run("quantize-tensor", weights.toString());
        assertThat(noOut.code()).isEqualTo(2);
        assertThat(noOut.err()).contains("missing required option --out");
        Launcher.Result badBits = run("quantize-tensor", "--bits", "9", "-o", "x.q4j", weights.toString());
        assertThat(badBits.code()).isEqualTo(2);
        assertThat(badBits.err().strip()).contains("bits must be 2..8").doesNotContain("\n");
        Launcher.Result badGroup = run("quantize-tensor", "--group-size", "100", "-o", "x.q4j", weights.toString());
        assertThat(badGroup.code()).isEqualTo(1);
        assertThat(badGroup.err()).contains("fc1", "group size 100", "256");
        assertThat(dir.resolve("x.q4j")).doesNotExist();
    }

    @Test
    void quantizesARealFileAndInspectsIt() throws Exception {
        Path model = dir.resolve("fc1-int4.q4j");
        Launcher.Result q = run("quantize-tensor", "--bits", "4", "--asym", "--group-size", "64", "-o", model.toString(),
                weights.toString());
        assertThat(q.code()).as(q.err()).isZero();
        assertThat(q.out()).contains("fc1", "64x256", "int4-asym-g64");
        assertThat(model).exists();

        QuantizedModel read = ModelFileReader.read(model);
        assertThat(read.quantizedTensors()).containsOnlyKeys("fc1");
        // int4 codes + FP16 scale + 4-bit zero per 64 weights
        assertThat(read.quantizedTensors().get("fc1").bitsPerWeight()).isEqualTo(4 + 16.0 / 64 + 4.0 / 64);

        Launcher.Result i = run("inspect", model.toString());
        assertThat(i.code()).as(i.err()).isZero();
        assertThat(i.out()).contains("fc1", "64x256", "int4-asym-g64", "4.313", "fp16", "fp32",
                String.valueOf(64 * 256 * 4), String.valueOf(64 * 256 * 2));
    }

    @Test
    void badDataFailsWithExitOneAndWritesNothing() throws Exception {
        Path nan = dir.resolve("bad.npy");
        float[] w = new float[16 * 32];
        w[37] = Float.NaN;
        NpyFile.write(nan, new long[] {16, 32}, w);
        Path model = dir.resolve("bad.q4j");
        Launcher.Result r = run("quantize-tensor", "-o", model.toString(), nan.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).contains("'bad'", "NaN", "row 1", "column 5").doesNotContain("\n");
        assertThat(model).doesNotExist();

        Path corrupt = dir.resolve("corrupt.q4j");
        Launcher.Result ok = run("quantize-tensor", "-o", corrupt.toString(), weights.toString());
        assertThat(ok.code()).isZero();
        byte[] bytes = Files.readAllBytes(corrupt);
        bytes[bytes.length / 2] ^= 0x5A;
        Files.write(corrupt, bytes);
        Launcher.Result c = run("inspect", corrupt.toString());
        assertThat(c.code()).isEqualTo(1);
        assertThat(c.err()).contains("corrupt.q4j");

        Launcher.Result missing = run("inspect", dir.resolve("nope.q4j").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("nope.q4j");
    }
}
