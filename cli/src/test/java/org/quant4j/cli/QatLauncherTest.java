package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;

/**
 * {@code quant4j qat} through the real launcher {@code bin/quant4j} (a fresh JVM, this test's classpath):
 * help, usage errors (exit 2, one line on stderr, nothing run), and a small real run on MNIST (the MLP on
 * 640 training digits, one fp32 and one QAT epoch) whose output, report and model files are checked.
 */
class QatLauncherTest {
    private static final Path LAUNCHER = Path.of("..", "bin", "quant4j").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    Result run(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        pb.environment().put("QUANT4J_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("QUANT4J_JAVA_OPTS", "-Xmx2g");
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("launcher finished").isTrue();
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void helpDescribesTheOptions() throws Exception {
        Result r = run("qat", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--example", "mnist-lenet", "mnist-mlp", "--weights", "int8", "int4", "int2",
                "ternary", "--acts", "--epochs", "--fp32-epochs", "--train-samples", "--out", "--table", "--ternary-scale",
                "twn", "absmean");
        assertThat(run("--help").out()).contains("qat");
    }

    @Test
    void usageErrorsExitTwoWithOneLineAndWriteNothing() throws Exception {
        String[][] cases = {
            {"missing required option --example"},
            {"unknown example 'mnist-vgg'", "--example", "mnist-vgg", "--weights", "int4"},
            {"unknown weight width 'int3'", "--example", "mnist-mlp", "--weights", "int3"},
            {"--acts must be int8 or none", "--example", "mnist-mlp", "--weights", "int4", "--acts", "fp16"},
            {"epochs must be at least 1", "--example", "mnist-mlp", "--weights", "int4", "--epochs", "0"},
            {"--fp32-epochs expects an integer, got 'two'", "--example", "mnist-mlp", "--weights", "int4", "--fp32-epochs", "two"},
            {"training samples must be 64..8000", "--example", "mnist-mlp", "--weights", "int4", "--train-samples", "10"},
            {"--ternary-scale must be twn or absmean, got 'lsq'", "--example", "mnist-lenet", "--weights", "ternary",
                "--ternary-scale", "lsq"},
            {"do not give --weights", "--table", "--weights", "int4"},
            {"unknown example 'lenet'", "--table", "--example", "lenet"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length + 2];
            args[0] = "qat";
            System.arraycopy(c, 1, args, 1, c.length - 1);
            args[c.length] = "--out";
            args[c.length + 1] = dir.resolve("never").toString();
            Result r = run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err().strip()).as(String.join(" ", args)).contains("quant4j qat: error: ", c[0])
                    .doesNotContain("\n");
            assertThat(dir.resolve("never")).doesNotExist();
        }
    }

    @Test
    void smallMlpRunWritesTheReportAndReloadableModelFiles() throws Exception {
        Path out = dir.resolve("run");
        Result r = run("qat", "--example", "mnist-mlp", "--weights", "int8", "--acts", "int8", "--epochs", "1",
                "--fp32-epochs", "1", "--train-samples", "640", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("fp32 training MLP 784-1024-1024-10: test accuracy",
                "PTQ RTN MLP 784-1024-1024-10 int8: test accuracy", "QAT MLP 784-1024-1024-10 int8: test accuracy",
                "| MLP 784-1024-1024-10 | int8 | int8 |", "report: ");
        assertThat(r.err()).contains("QAT MLP 784-1024-1024-10 int8"); // the progress bar

        JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertThat(report.get("settings").get("trainSamples").asInt()).isEqualTo(640);
        JsonNode rows = report.get("rows");
        assertThat(rows).hasSize(3);
        assertThat(rows.get(0).get("method").asText()).isEqualTo("fp32");
        double fp32 = rows.get(0).get("accuracy").asDouble();
        assertThat(fp32).as("fp32 accuracy after one epoch on 640 digits").isGreaterThan(0.6);
        for (int i = 1; i < 3; i++) {
            JsonNode row = rows.get(i);
            // int8 weights and activations: the reloaded model is within a few points of fp32, and the file holds
            // one byte per weight plus per-channel FP16 scales (784x1024 + 1024x1024 + 1024x10 weights)
            assertThat(row.get("accuracy").asDouble()).as(row.toString()).isGreaterThan(fp32 - 0.03);
            assertThat(row.get("bitsPerWeight").asDouble()).isBetween(8.0, 8.05);
            assertThat(row.get("maxOutputDiff").asDouble()).isBetween(0.0, 0.05);
        }
        assertThat(Files.readString(out.resolve("report.md"))).contains("| MLP 784-1024-1024-10 | int8 | int8 |",
                "| network | method | weights |");
        assertThat(Files.size(out.resolve("accuracy-vs-bits.png"))).isGreaterThan(1000);
        for (String method : List.of("ptq", "qat")) {
            QuantizedModel m = ModelFileReader.read(out.resolve("mnist-mlp-int8-" + method + ".q4j"));
            assertThat(m.quantizedTensors()).containsOnlyKeys("layer0/W", "layer1/W", "layer2/W");
            // Qat.convert: biases in float, the int8 grid of each quantized activation, the QatConfig in metadata
            assertThat(m.floatTensors()).containsOnlyKeys("layer0/b", "layer1/b", "layer2/b", "layer0/activation",
                    "layer1/activation");
            assertThat(m.metadata()).containsKey("qat.config");
        }
    }
}
