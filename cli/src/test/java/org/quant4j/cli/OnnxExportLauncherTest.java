package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.model.bert.OnnxQuantizedWeights;

/**
 * {@code quant4j export --format onnx} through the real launcher: MiniLM quantized by {@code quant4j ptq} (GPTQ
 * 4-bit g128 with act-order, 8 calibration sentences) exported with MatMulNBits and int4 embeddings, checked by ONNX
 * Runtime, then evaluated by {@code quant4j eval --peer}; usage errors.
 */
class OnnxExportLauncherTest {
    @TempDir
    Path dir;

    @Test
    void aGptqActOrderModelBecomesAnOnnxFileOnnxRuntimeRuns() throws Exception {
        Path model = dir.resolve("gptq4.q4j");
        Launcher.Result q = Launcher.run(dir, "3g", "ptq", "--model", "minilm", "--method", "gptq", "--bits", "4",
                "--group-size", "128", "--asym", "--act-order", "--calib-samples", "8", "--out", model.toString());
        assertThat(q.code()).as(q.err()).isZero();
        Path onnx = dir.resolve("enc.onnx");
        Launcher.Result e = Launcher.run(dir, "3g", "export", "--format", "onnx", "--model", "minilm", "--in",
                model.toString(), "--out", onnx.toString(), "--quantize-embeddings", "int4");
        assertThat(e.code()).as(e.err()).isZero();
        assertThat(e.out()).contains("weights: 36 MatMulNBits, 0 DequantizeLinear -> MatMul, 0 AWQ input scales",
                "embeddings int4-sym-g32", "export check: ", "wrote " + onnx);
        byte[] written = Files.readAllBytes(onnx);
        assertThat(written.length).isLessThan(15_000_000);
        assertThat(OnnxQuantizedWeights.count(written, onnx.toString()).weightOps())
                .containsEntry("MatMulNBits", 36).containsEntry("GatherBlockQuantized", 2);
        double diff = Double.parseDouble(e.out().replaceAll("(?s).*last_hidden_state max abs diff ([0-9.e+-]+).*", "$1"));
        System.out.println("GPTQ act-order int4 g128 + int4 embeddings export: " + e.out());
        assertThat(diff).isLessThanOrEqualTo(1e-4);

        // eval runs the export as a peer beside minilm's ONNX Runtime int8 twin
        Launcher.Result eval = Launcher.run(dir, "3g", "eval", "--model", "minilm", "--peer", onnx.toString(),
                "--sentences", "32");
        assertThat(eval.code()).as(eval.err()).isZero();
        Matcher row = Pattern.compile("\\| onnx \\| [^|]+ \\| ([0-9.]+) \\| ([0-9,]+) \\| ([0-9.]+) \\|")
                .matcher(eval.out());
        assertThat(row.find()).as(eval.out()).isTrue();
        System.out.println("eval of the export: " + row.group());
        assertThat(eval.out()).contains("| ort-int8 |");
        // 4-bit codes, fp32 scales, packed zero points, and the int32 input order of each act-order weight
        assertThat(Double.parseDouble(row.group(1))).isBetween(4.34, 4.36);
        assertThat(Long.parseLong(row.group(2).replace(",", ""))).isEqualTo(written.length);
        assertThat(Double.parseDouble(row.group(3))).isBetween(0.95, 0.9999);
    }

    @Test
    void usageErrorsNameTheOption() throws Exception {
        Path out = dir.resolve("never.onnx");
        Launcher.Result noModel = Launcher.run(dir, "1g", "export", "--format", "onnx", "--in", "m.q4j", "--out",
                out.toString());
        assertThat(noModel.code()).isEqualTo(2);
        assertThat(noModel.err()).contains("--format onnx needs --model minilm|FILE.onnx");
        Launcher.Result gguf = Launcher.run(dir, "1g", "export", "--model", "minilm", "--in", "m.q4j", "--out",
                out.toString());
        assertThat(gguf.code()).isEqualTo(2);
        assertThat(gguf.err()).contains("--model goes with --format onnx");
        Launcher.Result spec = Launcher.run(dir, "1g", "export", "--format", "onnx", "--model", "minilm",
                "--quantize-embeddings", "int2", "--in", "m.q4j", "--out", out.toString());
        assertThat(spec.code()).isEqualTo(2);
        assertThat(spec.err()).contains("--quantize-embeddings must be one of [int8, int8-tensor, int4, int4-asym]");
        assertThat(out).doesNotExist();
    }
}
