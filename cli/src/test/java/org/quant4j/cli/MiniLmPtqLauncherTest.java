package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;

/** {@code quant4j ptq --model minilm} through the real launcher on real SOTU passages. */
class MiniLmPtqLauncherTest {
    @TempDir
    static Path dir;

    static Launcher.Result run(String... args) throws Exception {
        return Launcher.run(dir, "3g", args);
    }

    @Test
    void gptqQuantizesMiniLmWritesAReloadableFileAndAReport() throws Exception {
        Path out = dir.resolve("minilm-gptq4.q4j");
        Path report = dir.resolve("report");
        Launcher.Result q = run("ptq", "--model", "minilm", "--method", "gptq", "--bits", "4", "--group-size", "128",
                "--act-order", "--range", "mse", "--calib-samples", "8", "--out", out.toString(), "--report",
                report.toString());
        assertThat(q.code()).as(q.err()).isZero();
        assertThat(q.out()).contains("all-MiniLM-L6-v2: 6 layers, 36 quantization targets; gptq int4-sym-g128, "
                + "8 calibration sentences", "encoder.layer.5.output.dense", "wrote " + out);
        assertThat(q.err()).as("a progress bar per target").contains("[1/36] encoder.layer.0.attention.self.query",
                "[36/36] encoder.layer.5.output.dense");
        QuantizedModel written = ModelFileReader.read(out);
        assertThat(written.quantizedTensors()).hasSize(36).containsKey("encoder.layer.3.intermediate.dense");
        assertThat(written.floatTensors()).containsKeys("embeddings.word_embeddings.weight",
                "encoder.layer.3.intermediate.dense.bias", "encoder.layer.5.output.LayerNorm.weight");
        assertThat(written.metadata()).containsEntry("method", "gptq").containsEntry("model", "all-MiniLM-L6-v2");
        assertThat(written.metadata().get("solver")).contains("actOrder=true", "range=mse(");
        assertThat(written.quantizedTensors().get("encoder.layer.0.attention.self.query").groupIndex()).isNotNull();
        JsonNode json = new ObjectMapper().readTree(report.resolve("report.json").toFile());
        assertThat(json.get("layers")).hasSize(36);
        assertThat(json.get("layers").get(0).get("calibrationRows").asLong()).as("8 sentences of >= 6 words")
                .isGreaterThan(8 * 8).isLessThan(8 * 128);
        assertThat(report.resolve("error-by-layer.png")).exists();
    }

    @Test
    void badMiniLmInputFailsClearlyAndWritesNothing() throws Exception {
        Path out = dir.resolve("never.q4j");
        Launcher.Result tooLong = run("ptq", "--model", "minilm", "--method", "rtn", "--max-tokens", "1000",
                "--calib-samples", "2", "--out", out.toString());
        assertThat(tooLong.code()).isEqualTo(1);
        assertThat(tooLong.err()).contains("1000 tokens", "512 positions");
        Launcher.Result books = run("ptq", "--model", "minilm", "--method", "rtn", "--calib", "books",
                "--out", out.toString());
        assertThat(books.code()).isEqualTo(2);
        assertThat(books.err()).contains("--calib books: no such file", "--calib sotu", "--calib sotu-passages");
        Launcher.Result claqBits = run("ptq", "--model", "minilm", "--method", "gptq", "--claq-bits", "2.5",
                "--out", out.toString());
        assertThat(claqBits.code()).isEqualTo(2);
        assertThat(claqBits.err()).contains("--claq-bits and --claq-outliers apply to --method claq only");
        Launcher.Result claqOutliers = run("ptq", "--model", "minilm", "--method", "rtn", "--claq-outliers",
                "--out", out.toString());
        assertThat(claqOutliers.code()).isEqualTo(2);
        assertThat(claqOutliers.err()).contains("--claq-bits and --claq-outliers apply to --method claq only");
        Launcher.Result actOrder = run("ptq", "--model", "minilm", "--method", "awq", "--act-order",
                "--out", out.toString());
        assertThat(actOrder.code()).isEqualTo(2);
        assertThat(actOrder.err()).contains("--act-order applies to gptq, and to awq with --awq-gptq, only");
        Launcher.Result awqGptq = run("ptq", "--model", "minilm", "--method", "claq", "--awq-gptq",
                "--out", out.toString());
        assertThat(awqGptq.code()).isEqualTo(2);
        assertThat(awqGptq.err()).contains("--awq-gptq does not apply to --method claq");
        Launcher.Result range = run("ptq", "--model", "minilm", "--method", "gptq", "--range", "p99",
                "--out", out.toString());
        assertThat(range.code()).isEqualTo(2);
        assertThat(range.err()).contains("--range expects minmax or mse, got 'p99'");
        Launcher.Result mnist = run("ptq", "--model", "minilm", "--calib", "mnist", "--out", out.toString());
        assertThat(mnist.code()).isEqualTo(2);
        assertThat(mnist.err()).contains("--calib sotu");
        assertThat(out).doesNotExist();
    }

    @Test
    void aUsersOwnOnnxEncoderWithItsTokenizerAndCalibrationFileIsQuantized() throws Exception {
        Path onnx = dir.resolve("my-encoder.onnx");
        Path tokenizer = dir.resolve("my-tokenizer.json");
        Path text = dir.resolve("calib.txt");
        java.nio.file.Files.write(onnx, org.quant4j.model.bert.MiniLm.readAllBytes(org.quant4j.model.bert.MiniLm.ONNX_RESOURCE));
        java.nio.file.Files.write(tokenizer,
                org.quant4j.model.bert.MiniLm.readAllBytes(org.quant4j.model.bert.MiniLm.TOKENIZER_RESOURCE));
        java.nio.file.Files.writeString(text, "The state of the union is strong.\n\nWe will build roads and schools.\n"
                + "Congress passed the budget after a long debate.\n");
        Path out = dir.resolve("my-encoder-rtn.q4j");
        Launcher.Result q = run("ptq", "--model", onnx.toString(), "--tokenizer", tokenizer.toString(), "--pooling",
                "mean", "--method", "gptq", "--calib", text.toString(), "--out", out.toString());
        assertThat(q.code()).as(q.err()).isZero();
        assertThat(q.out()).contains("fp32 forward vs ONNX Runtime", "my-encoder.onnx: 6 layers, 36 quantization targets",
                "3 calibration lines", "wrote " + out);
        QuantizedModel written = ModelFileReader.read(out);
        assertThat(written.quantizedTensors()).hasSize(36);
        assertThat(written.metadata()).containsEntry("model", "my-encoder.onnx");
        assertThat(written.metadata().get("calibration")).contains("3 sequences", "calib.txt");

        Path never = dir.resolve("never-onnx.q4j");
        Launcher.Result noTokenizer = run("ptq", "--model", onnx.toString(), "--method", "rtn", "--out", never.toString());
        assertThat(noTokenizer.code()).isEqualTo(2);
        assertThat(noTokenizer.err()).contains("needs --tokenizer");
        Launcher.Result missing = run("ptq", "--model", dir.resolve("nothing.onnx").toString(), "--tokenizer",
                tokenizer.toString(), "--method", "rtn", "--out", never.toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("nothing.onnx");
        assertThat(never).doesNotExist();
    }
}
