package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.model.bert.MiniLm;

/**
 * {@code quant4j eval} of sentence encoders through the real launcher on a few sentences: {@code --model minilm}'s
 * fp32 and ONNX Runtime int8 rows with a report, the row of a model file (RTN int8 per channel written here), a tiny
 * table; a user's {@code FILE.onnx} with its tokenizer, evaluation text file and int8 peer; usage errors.
 */
class EncoderEvalLauncherTest {
    private static final Pattern ROW = Pattern.compile(
            "\\| (\\S+) \\| [^|]+ \\| ([0-9.n/a]+) \\| ([0-9,]+) \\| ([0-9.]+) \\| ([0-9.]+) \\| ([0-9.]+) \\|");

    @TempDir
    Path dir;

    @Test
    void fp32AndTheOnnxRuntimeInt8PeerWithAReport() throws Exception {
        Path report = dir.resolve("report");
        Launcher.Result r = Launcher.run(dir, "2g", "eval", "--model", "minilm", "--sentences", "48", "--out",
                report.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("all-MiniLM-L6-v2 on 48 SOTU evaluation sentences");
        Matcher m = ROW.matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(m.group(1)).isEqualTo("fp32");
        assertThat(Double.parseDouble(m.group(4))).isEqualTo(1.0);
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(m.group(1)).isEqualTo("ort-int8");
        double ortBits = Double.parseDouble(m.group(2));
        double ortCosine = Double.parseDouble(m.group(4));
        double ortTop1 = Double.parseDouble(m.group(6));
        System.out.printf("ORT int8 on 48 sentences: %.3f bits/weight, mean cosine %.5f, top-1 %.3f%n", ortBits,
                ortCosine, ortTop1);
        assertThat(ortBits).isBetween(8.0, 8.1);
        assertThat(ortCosine).isBetween(0.95, 0.99999);
        assertThat(ortTop1).isGreaterThan(0.7);
        JsonNode json = new ObjectMapper().readTree(report.resolve("report.json").toFile());
        assertThat(json.get("rows")).hasSize(2);
        assertThat(json.get("rows").get(1).get("method").asText()).isEqualTo("ort-int8");
        assertThat(Files.readString(report.resolve("report.md"))).contains("| ort-int8 |", "| fp32 |");
        assertThat(report.resolve("cosine-vs-bits.png")).isNotEmptyFile();
    }

    @Test
    void theRowOfAModelFile() throws Exception {
        Path file = dir.resolve("minilm-rtn-int8.q4j");
        ModelFileWriter.write(file, rtnInt8PerChannel());
        Launcher.Result r = Launcher.run(dir, "2g", "eval", "--model", "minilm", "--quantized", file.toString(),
                "--sentences", "48");
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = ROW.matcher(r.out());
        assertThat(m.find()).isTrue();
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(m.group(1)).isEqualTo("rtn");
        assertThat(r.out()).contains("int8-sym-channel");
        assertThat(Long.parseLong(m.group(3).replace(",", ""))).isEqualTo(Files.size(file));
        double bits = Double.parseDouble(m.group(2));
        double cosine = Double.parseDouble(m.group(4));
        System.out.printf("RTN int8 per channel on 48 sentences: %.3f bits/weight, mean cosine %.5f%n", bits, cosine);
        assertThat(bits).isBetween(8.0, 8.2);
        assertThat(cosine).isBetween(0.99, 0.999999);
        assertThat(r.out()).doesNotContain("ort-int8");
    }

    @Test
    void aTinyTableQuantizesWritesReloadsAndReports() throws Exception {
        Path out = dir.resolve("table");
        Launcher.Result r = Launcher.run(dir, "3g", "eval", "--model", "minilm", "--table", "--methods", "rtn",
                "--bits", "8,4", "--sentences", "32", "--calib", "sotu-passages", "--calib-samples", "2", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("[1/2] rtn int8-sym-channel: 36/36 targets", "[2/2] rtn int4-asym-g128: 36/36 targets");
        Matcher m = ROW.matcher(r.out());
        double[] cosine = new double[4];
        String[] method = new String[4];
        for (int i = 0; i < 4; i++) {
            assertThat(m.find()).as(r.out()).isTrue();
            method[i] = m.group(1);
            cosine[i] = Double.parseDouble(m.group(4));
        }
        assertThat(method).containsExactly("fp32", "ort-int8", "rtn", "rtn");
        System.out.printf("table on 32 sentences: ORT int8 %.5f, RTN int8/channel %.5f, RTN int4 g128 %.5f%n",
                cosine[1], cosine[2], cosine[3]);
        assertThat(cosine[2]).as("int8 per channel beats int4 g128").isGreaterThan(cosine[3]);
        assertThat(out.resolve("all-minilm-l6-v2-rtn-int8-sym-channel.q4j")).isNotEmptyFile();
        assertThat(out.resolve("all-minilm-l6-v2-rtn-int4-asym-g128.q4j")).isNotEmptyFile();
        JsonNode json = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertThat(json.get("rows")).hasSize(4);
        assertThat(json.get("rows").get(3).get("quantSeconds").asDouble()).isPositive();
        assertThat(json.get("settings").get("calibration").asText()).startsWith("2 passages of >= 90 words from 1 State of the Union address, split seed 1790");
    }

    @Test
    void usageErrors() throws Exception {
        Launcher.Result one = Launcher.run(dir, "1g", "eval", "--model", "minilm", "--sentences", "1");
        assertThat(one.code()).isEqualTo(Main.USAGE);
        assertThat(one.err()).contains("--sentences must be at least 2");
        Launcher.Result zip = Launcher.run(dir, "1g", "eval", "--model", "net.zip", "--sentences", "10");
        assertThat(zip.code()).isEqualTo(Main.USAGE);
        assertThat(zip.err()).contains("--sentences is for sentence encoders (--model minilm or FILE.onnx)");
        Launcher.Result tokenizer = Launcher.run(dir, "1g", "eval", "--model", "net.zip", "--tokenizer", "t.json");
        assertThat(tokenizer.code()).isEqualTo(Main.USAGE);
        assertThat(tokenizer.err()).contains("--tokenizer is for sentence encoders", "net.zip");
        Launcher.Result pooling = Launcher.run(dir, "1g", "eval", "--model", "minilm", "--pooling", "cls");
        assertThat(pooling.code()).isEqualTo(Main.USAGE);
        assertThat(pooling.err()).contains("--pooling goes with --model FILE.onnx");
        Launcher.Result both = Launcher.run(dir, "1g", "eval", "--model", "minilm", "--text", "t.txt", "--sentences", "9");
        assertThat(both.code()).isEqualTo(Main.USAGE);
        assertThat(both.err()).contains("with --text FILE every line is one");
        Launcher.Result noText = Launcher.run(dir, "1g", "eval", "--model", "minilm", "--text",
                dir.resolve("absent.txt").toString());
        assertThat(noText.code()).isEqualTo(Main.USAGE);
        assertThat(noText.err()).contains("--text " + dir.resolve("absent.txt") + ": no such file");
        Launcher.Result noOut = Launcher.run(dir, "1g", "eval", "--model", "minilm", "--table");
        assertThat(noOut.code()).isEqualTo(Main.USAGE);
        assertThat(noOut.err()).contains("--table needs --out DIR");
        Launcher.Result method = Launcher.run(dir, "1g", "eval", "--model", "minilm", "--table", "--methods", "gptx",
                "--out", dir.resolve("x").toString());
        assertThat(method.code()).isEqualTo(Main.USAGE);
        assertThat(method.err()).contains("unknown method 'gptx'");
    }

    @Test
    void aUsersOnnxEncoderOnItsOwnTextWithItsPeerAndAModelFile() throws Exception {
        Path onnx = dir.resolve("my-encoder.onnx");
        Path tokenizer = dir.resolve("tokenizer.json");
        Path peer = dir.resolve("my-encoder-int8.onnx");
        Path text = dir.resolve("eval.txt");
        Files.write(onnx, MiniLm.readAllBytes(MiniLm.ONNX_RESOURCE));
        Files.write(tokenizer, MiniLm.readAllBytes(MiniLm.TOKENIZER_RESOURCE));
        Files.write(peer, MiniLm.readAllBytes(MiniLm.INT8_ONNX_RESOURCE));
        Files.writeString(text, "The state of the union is strong.\n\nWe will build roads and schools.\n"
                + "Congress passed the budget after a long debate.\nThe army marched north in the winter.\n");
        Path file = dir.resolve("rtn-int8.q4j");
        ModelFileWriter.write(file, rtnInt8PerChannel());
        Launcher.Result r = Launcher.run(dir, "2g", "eval", "--model", onnx.toString(), "--tokenizer",
                tokenizer.toString(), "--pooling", "mean", "--text", text.toString(), "--peer", peer.toString(),
                "--quantized", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("my-encoder.onnx on 4 lines of " + text, "fp32 forward vs ONNX Runtime");
        Matcher m = ROW.matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(m.group(1)).isEqualTo("fp32");
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(m.group(1)).isEqualTo("ort-int8");
        assertThat(Double.parseDouble(m.group(4))).isBetween(0.95, 0.99999);
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(m.group(1)).isEqualTo("rtn");
        assertThat(Double.parseDouble(m.group(4))).isBetween(0.99, 0.999999);
    }

    /** Every target RTN int8 symmetric per output channel, every other parameter fp32. */
    private static QuantizedModel rtnInt8PerChannel() {
        BertEncoder e = MiniLm.load().encoder();
        QuantSpec spec = QuantSpec.integer(8, true, Granularity.perChannel());
        QuantizedModel.Builder b = QuantizedModel.builder().sourceModel("all-MiniLM-L6-v2").metadata("method", "rtn")
                .metadata("spec", spec.toJson());
        for (LinearTarget t : e.targets()) {
            b.addQuantized(t.name(), Quantizer.quantize(t.name(), e.weight(t.name()), spec));
        }
        for (String p : e.parameterNames()) {
            if (e.targets().stream().noneMatch(t -> t.weightName().equals(p))) {
                INDArray v = e.parameter(p);
                b.addFloat(p, new FloatTensor(v.shape(), v.dup('c').data().asFloat()));
            }
        }
        return b.build();
    }
}
