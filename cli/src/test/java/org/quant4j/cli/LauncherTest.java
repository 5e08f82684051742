package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.BitPacker;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Half;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.ModelFileWriter;
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

    /** A [64, 4] CLAQ tensor, widths 3, 3, 2, 4, outliers (5, 1) and (60, 1), next to an fp32 tensor. */
    @Test
    void inspectListsClaqTensorsWithFormatBitsPerWeightAndBytes() throws Exception {
        byte[] widths = {3, 3, 2, 4};
        Random r = new Random(3);
        byte[] codes = new byte[24 + 24 + 16 + 32];
        float[] centroids = new float[8 + 8 + 4 + 16];
        for (int i = 0; i < centroids.length; i++) centroids[i] = Half.toFloat(Half.fromFloat((float) r.nextGaussian()));
        byte[] column = new byte[64];
        for (int j = 0, at = 0; j < 4; j++) {
            for (int i = 0; i < 64; i++) column[i] = (byte) r.nextInt(1 << widths[j]);
            BitPacker.pack(column, 0, 64, widths[j], codes, at);
            at += 64 * widths[j] / 8;
        }
        ClaqTensor claq = new ClaqTensor(new long[] {64, 4}, widths, EncodedArray.encode(NumberEncoding.FP16, 16, centroids),
                codes, new int[] {0, 0, 2, 2, 2}, new int[] {5, 60},
                EncodedArray.encode(NumberEncoding.FP16, 16, new float[] {3.5f, -2.25f}));
        Path model = dir.resolve("claq.q4j");
        ModelFileWriter.write(model, QuantizedModel.builder().sourceModel("test").metadata("method", "claq")
                .addClaq("layer.weight", claq).addFloat("layer.bias", new FloatTensor(new long[] {64}, new float[64])).build());

        Launcher.Result i = run("inspect", model.toString());
        assertThat(i.code()).as(i.err()).isZero();
        // 96 code bytes + 36 FP16 centroids + 4 width bytes + 5 int32 offsets + 2 x (uint16 row + FP16 value) = 200
        assertThat(i.out()).containsPattern("layer\\.weight +64x4 +claq +6\\.250 +200\\n")
                .containsPattern("layer\\.bias +64 +fp32 +32\\.000 +256\\n")
                .contains("parameters: 320   stored tensor bytes: 456 (11.400 bits/weight)")
                .containsPattern("fp16 +640 ").containsPattern("fp32 +1280 ");
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
