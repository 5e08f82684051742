package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.llm.LlamaConfig;
import org.quant4j.model.llm.SyntheticDecoders;

/**
 * The decoder through the real launcher, on a seeded random llama GGUF at real shapes with a word vocabulary
 * ({@link SyntheticDecoders}): {@code ptq --model FILE.gguf} with GPTQ on a calibration text file, {@code eval} of
 * the written model file (perplexity, KL to fp32, top-1) and {@code generate} with it; bad input.
 */
class DecoderLauncherTest {
    private static final Pattern ROW = Pattern.compile("\\| (\\S+) \\| ([0-9,]+) \\| ([0-9.]+) \\| ([0-9.–]+) \\| ([0-9.–]+) \\|");

    @TempDir
    Path dir;

    private static String words(Random r, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : " ").append('w').append(r.nextInt(SyntheticDecoders.WORDS));
        }
        return sb.toString();
    }

    @Test
    void ptqEvalAndGenerateOnAGgufDecoder() throws Exception {
        Path gguf = dir.resolve("tiny-llama.gguf");
        SyntheticDecoders.write(gguf, new LlamaConfig("llama", 1, 256, 2, 4, 2, 512, 1e-5f, 10_000f, 1f,
                LlamaConfig.RopeStyle.NORMAL, 256), false, false, 3);
        Random r = new Random(1);
        StringBuilder calib = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            calib.append(words(r, 60)).append('\n');
        }
        Path calibFile = Files.writeString(dir.resolve("calib.txt"), calib);
        Path heldOut = Files.writeString(dir.resolve("held-out.txt"), words(r, 400));
        Path q = dir.resolve("tiny-gptq4.q4j");

        Launcher.Result ptq = Launcher.run(dir, "2g", "ptq", "--model", gguf.toString(), "--method", "gptq", "--bits",
                "4", "--group-size", "128", "--asym", "--calib", calibFile.toString(), "--out", q.toString());
        assertThat(ptq.code()).as(ptq.err()).isZero();
        assertThat(ptq.out()).contains("tiny-llama.gguf: llama, 2 blocks, hidden 256", "24 calibration lines", "wrote " + q);
        QuantizedModel written = ModelFileReader.read(q);
        assertThat(written.quantizedTensors()).hasSize(14).containsKey("blk.0.attn_q");

        Launcher.Result eval = Launcher.run(dir, "2g", "eval", "--model", gguf.toString(), "--text", heldOut.toString(),
                "--quantized", q.toString(), "--ctx", "64", "--generations", "4", "--gen-tokens", "32");
        assertThat(eval.code()).as(eval.err()).isZero();
        Matcher m = ROW.matcher(eval.out());
        assertThat(m.find()).as(eval.out()).isTrue();
        double fp32 = Double.parseDouble(m.group(3));
        assertThat(m.find()).as(eval.out()).isTrue();
        double quantized = Double.parseDouble(m.group(3));
        double kl = Double.parseDouble(m.group(4));
        System.out.printf("tiny llama, 64-token chunks: fp32 perplexity %.3f, GPTQ int4 g128 %.3f, KL %.5f%n", fp32,
                quantized, kl);
        assertThat(fp32).isGreaterThan(1);
        assertThat(kl).isPositive().isLessThan(0.5);
        assertThat(eval.out()).contains("fp32:      4 greedy generations of 32 tokens", "quantized: 4 greedy generations");

        Launcher.Result gen = Launcher.run(dir, "2g", "generate", "--model", gguf.toString(), "--quantized",
                q.toString(), "--prompt", "w12 w7 w300", "--tokens", "8");
        assertThat(gen.code()).as(gen.err()).isZero();
        assertThat(gen.out().strip()).matches("(\\s*w\\d+)+.*");

        Path exported = dir.resolve("tiny-q4_k_m.gguf");
        Launcher.Result export = Launcher.run(dir, "2g", "export", "--in", q.toString(), "--model", gguf.toString(),
                "--mix", "q4_k_m", "--out", exported.toString());
        assertThat(export.code()).as(export.err()).isZero();
        assertThat(export.out()).contains("wrote " + exported, "llama.cpp runs it");
        assertThat(org.quant4j.core.io.gguf.GgufReader.read(exported).tensor("output.weight").type())
                .isEqualTo(org.quant4j.core.io.gguf.GgmlType.Q6_K);
        Launcher.Result fromExport = Launcher.run(dir, "2g", "generate", "--model", exported.toString(), "--prompt",
                "w12 w7", "--tokens", "4");
        assertThat(fromExport.code()).as(fromExport.err()).isZero();

        Launcher.Result noText = Launcher.run(dir, "1g", "eval", "--model", gguf.toString());
        assertThat(noText.code()).isEqualTo(Main.USAGE);
        assertThat(noText.err()).contains("--text FILE");
        Launcher.Result pooling = Launcher.run(dir, "1g", "ptq", "--model", gguf.toString(), "--pooling", "cls",
                "--out", dir.resolve("never.q4j").toString());
        assertThat(pooling.code()).isEqualTo(Main.USAGE);
        assertThat(pooling.err()).contains("--pooling is for sentence encoders");
        assertThat(dir.resolve("never.q4j")).doesNotExist();
    }
}
