package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;

/**
 * {@code quant4j train}, {@code ptq} and {@code eval} through the real launcher on real MNIST digits: a model zip is
 * trained once (the MLP, one epoch over 2,000 digits), then quantized, evaluated, and fed bad input.
 */
class PtqLauncherTest {
    private static final Pattern ACCURACY = Pattern.compile("(fp32|quantized) accuracy: +([0-9.]+)%");

    @TempDir
    static Path dir;
    static Path model;

    static Launcher.Result run(String... args) throws Exception {
        return Launcher.run(dir, "2g", args);
    }

    @BeforeAll
    static void trainTheInputModel() throws Exception {
        model = dir.resolve("mlp.zip");
        Launcher.Result r = run("train", "--example", "mnist-mlp", "--epochs", "1", "--train-samples", "2000",
                "--out", model.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("epoch 1/1", "mnist-mlp on 2000 training digits: test accuracy");
        assertThat(model).exists();
    }

    @Test
    void gptqQuantizesTheModelWritesAReportAndEvalReloadsIt() throws Exception {
        Path out = dir.resolve("mlp-gptq4.q4j");
        Path report = dir.resolve("report");
        Launcher.Result q = run("ptq", "--model", model.toString(), "--method", "gptq", "--bits", "4", "--group-size",
                "128", "--group-fallback", "largest-divisor", "--calib", "mnist", "--calib-samples", "256",
                "--out", out.toString(), "--report", report.toString());
        assertThat(q.code()).as(q.err()).isZero();
        assertThat(q.out()).contains("MultiLayerNetwork, 3 quantizable weights", "layer0/W", "int4-sym-g112",
                "group 128 -> group:112 (784 columns)", "layer1/W", "int4-sym-g128", "layer2/W", "wrote " + out);
        assertThat(q.err()).as("a progress bar per layer").contains("[1/3] layer0/W", "[3/3] layer2/W");
        QuantizedModel written = ModelFileReader.read(out);
        assertThat(written.quantizedTensors()).containsOnlyKeys("layer0/W", "layer1/W", "layer2/W");
        assertThat(written.metadata()).containsEntry("method", "gptq");
        JsonNode json = new ObjectMapper().readTree(report.resolve("report.json").toFile());
        assertThat(json.get("layers")).hasSize(3);
        assertThat(json.get("layers").get(0).get("calibrationRows").asLong()).isEqualTo(256);
        assertThat(report.resolve("report.md")).exists();
        assertThat(report.resolve("error-by-layer.png")).exists();

        Launcher.Result e = run("eval", "--model", model.toString(), "--quantized", out.toString(), "--data", "mnist");
        assertThat(e.code()).as(e.err()).isZero();
        assertThat(e.out()).contains("MultiLayerNetwork", "2000 MNIST test digits", "3 quantized and 3 fp32 tensors");
        Matcher m = ACCURACY.matcher(e.out());
        assertThat(m.find()).isTrue();
        double fp32 = Double.parseDouble(m.group(2));
        assertThat(m.find()).isTrue();
        double quantized = Double.parseDouble(m.group(2));
        System.out.printf("CLI: fp32 %.2f%%, gptq int4 g128 %.2f%%%n", fp32, quantized);
        assertThat(fp32).isGreaterThan(80);
        assertThat(quantized).isGreaterThanOrEqualTo(fp32 - 1);
    }

    /** AWQ (scales folded or stored as input_scale) and CLAQ files written, evaluated and inspected. */
    @Test
    void awqAndClaqQuantizeTheModelAndEvalAndInspectReadTheirFiles() throws Exception {
        Path awq = dir.resolve("mlp-awq4.q4j");
        Launcher.Result q = run("ptq", "--model", model.toString(), "--method", "awq", "--bits", "4",
                "--group-fallback", "largest-divisor", "--calib", "mnist", "--calib-samples", "128", "--out", awq.toString());
        assertThat(q.code()).as(q.err()).isZero();
        assertThat(q.out()).contains("awq int4-asym-g128", "input_scale stored (first layer)", "1/s folded into layer0/W",
                "wrote " + awq);
        QuantizedModel awqModel = ModelFileReader.read(awq);
        assertThat(awqModel.quantizedTensors()).containsOnlyKeys("layer0/W", "layer1/W", "layer2/W");
        assertThat(awqModel.floatTensors()).containsKey("layer0/W/input_scale");
        double awqAccuracy = quantizedAccuracy(awq);

        Path claq = dir.resolve("mlp-claq.q4j");
        Launcher.Result c = run("ptq", "--model", model.toString(), "--method", "claq", "--claq-bits", "3.1",
                "--claq-outliers", "--calib", "mnist", "--calib-samples", "128", "--out", claq.toString());
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.out()).contains("claq(bits=3/4@0.1", "reserve=", "wrote " + claq);
        assertThat(ModelFileReader.read(claq).claqTensors()).containsOnlyKeys("layer0/W", "layer1/W", "layer2/W");
        System.out.printf("CLI: awq int4 asym g128 %.2f%%%n", awqAccuracy); // eval loads CLAQ files alike (ptq tests)

        Launcher.Result i = run("inspect", claq.toString());
        assertThat(i.code()).as(i.err()).isZero();
        assertThat(i.out()).containsPattern("layer1/W +1024x1024 +claq");

    }

    /** {@code --awq-gptq}: AWQ's scales, GPTQ (here with act-order) quantizing; the file is evaluated. */
    @Test
    void awqWithGptqQuantizesTheModelAndEvalReadsItsFile() throws Exception {
        Path file = dir.resolve("mlp-awq-gptq4.q4j");
        Launcher.Result q = run("ptq", "--model", model.toString(), "--method", "awq", "--awq-gptq", "--act-order",
                "--group-fallback", "largest-divisor", "--calib", "mnist", "--calib-samples", "128", "--out",
                file.toString());
        assertThat(q.code()).as(q.err()).isZero();
        assertThat(q.out()).contains("awq+gptq int4-asym-g128", "1/s folded into layer0/W, gptq", "wrote " + file);
        QuantizedModel written = ModelFileReader.read(file);
        assertThat(written.metadata()).containsEntry("method", "awq+gptq");
        assertThat(written.metadata().get("solver")).contains("actOrder=true");
        assertThat(written.quantizedTensors().get("layer1/W").hasGroupIndex()).isTrue();
        System.out.printf("CLI: awq+gptq (act-order) int4 asym g128 %.2f%%%n", quantizedAccuracy(file));
    }

    /** {@code --bias-correction}: the corrected biases are in the file, and eval reloads them. */
    @Test
    void biasCorrectionIsWrittenToTheFileAndEvalReadsIt() throws Exception {
        Path out = dir.resolve("mlp-rtn3-bc.q4j");
        Launcher.Result q = run("ptq", "--model", model.toString(), "--method", "rtn", "--bits", "3",
                "--group-fallback", "largest-divisor", "--calib", "mnist", "--calib-samples", "256", "--bias-correction",
                "--out", out.toString());
        assertThat(q.code()).as(q.err()).isZero();
        assertThat(q.out()).contains("rtn int3-sym-g128, group fallback largest-divisor, bias correction",
                "bias corrected (rms shift", "wrote " + out);
        assertThat(q.err()).as("a progress bar per pass").contains("bias correction: float means", "bias correction 100%");
        QuantizedModel written = ModelFileReader.read(out);
        assertThat(written.metadata()).containsEntry("biasCorrection", "true");
        assertThat(written.floatTensors()).containsOnlyKeys("layer0/b", "layer1/b", "layer2/b");
        System.out.printf("CLI: rtn int3 g128 + bias correction %.2f%%%n", quantizedAccuracy(out));
    }

    /** The quantized accuracy {@code eval --quantized} prints, checked against the fp32 one. */
    private static double quantizedAccuracy(Path file) throws Exception {
        Launcher.Result e = run("eval", "--model", model.toString(), "--quantized", file.toString());
        assertThat(e.code()).as(e.err()).isZero();
        assertThat(e.out()).contains("3 quantized and 3 fp32 tensors");
        Matcher m = ACCURACY.matcher(e.out());
        assertThat(m.find()).isTrue();
        double fp32 = Double.parseDouble(m.group(2));
        assertThat(m.find()).isTrue();
        double quantized = Double.parseDouble(m.group(2));
        assertThat(quantized).isGreaterThanOrEqualTo(fp32 - 1);
        return quantized;
    }

    @Test
    void usageErrorsExitTwoAndWriteNothing() throws Exception {
        Path out = dir.resolve("never.q4j");
        Launcher.Result method = run("ptq", "--model", model.toString(), "--method", "awq9", "--out", out.toString());
        assertThat(method.code()).isEqualTo(2);
        assertThat(method.err()).contains("unknown --method 'awq9'");
        Launcher.Result noCalib = run("ptq", "--model", model.toString(), "--method", "gptq", "--out", out.toString());
        assertThat(noCalib.code()).isEqualTo(2);
        assertThat(noCalib.err()).contains("gptq needs calibration data: add --calib mnist");
        Launcher.Result awqNoCalib = run("ptq", "--model", model.toString(), "--method", "awq", "--out", out.toString());
        assertThat(awqNoCalib.code()).isEqualTo(2);
        assertThat(awqNoCalib.err()).contains("awq needs calibration data: add --calib mnist");
        Launcher.Result claqBits = run("ptq", "--model", model.toString(), "--method", "claq", "--bits", "3", "--calib",
                "mnist", "--out", out.toString());
        assertThat(claqBits.code()).isEqualTo(2);
        assertThat(claqBits.err()).contains("claq takes its width from --claq-bits");
        Launcher.Result claqActOrder = run("ptq", "--model", model.toString(), "--method", "claq", "--act-order",
                "--calib", "mnist", "--out", out.toString());
        assertThat(claqActOrder.code()).isEqualTo(2);
        assertThat(claqActOrder.err()).contains("--act-order does not apply to --method claq");
        Launcher.Result bias = run("ptq", "--model", model.toString(), "--method", "rtn", "--bias-correction",
                "--out", out.toString());
        assertThat(bias.code()).isEqualTo(2);
        assertThat(bias.err()).contains("--bias-correction needs calibration data: add --calib mnist");
        Launcher.Result awqGptq = run("ptq", "--model", model.toString(), "--method", "gptq", "--awq-gptq", "--calib",
                "mnist", "--out", out.toString());
        assertThat(awqGptq.code()).isEqualTo(2);
        assertThat(awqGptq.err()).contains("--awq-gptq applies to --method awq only");
        Launcher.Result awqRange = run("ptq", "--model", model.toString(), "--method", "awq", "--range", "mse", "--calib",
                "mnist", "--out", out.toString());
        assertThat(awqRange.code()).isEqualTo(2);
        assertThat(awqRange.err()).contains("--range applies to rtn, gptq, and awq with --awq-gptq, only");
        Launcher.Result data = run("eval", "--model", model.toString(), "--data", "cifar");
        assertThat(data.code()).isEqualTo(2);
        assertThat(data.err()).contains("unknown data set 'cifar'");
        Launcher.Result missing = run("ptq", "--method", "rtn", "--out", out.toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("missing required option --model");
        assertThat(out).doesNotExist();
    }

    @Test
    void badInputExitsOneNamingTheLayerAndWritesNoFile() throws Exception {
        Path out = dir.resolve("bad.q4j");
        Launcher.Result refused = run("ptq", "--model", model.toString(), "--method", "rtn", "--out", out.toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("layer 'layer0/W'", "group size 128", "784 input columns");
        assertThat(out).doesNotExist();

        MultiLayerNetwork nan = ModelSerializer.restoreMultiLayerNetwork(model.toFile());
        nan.getParam("2_W").putScalar(7, 4, Float.NaN);
        Path nanModel = dir.resolve("nan.zip");
        ModelSerializer.writeModel(nan, nanModel.toFile(), false);
        Launcher.Result nanWeights = run("ptq", "--model", nanModel.toString(), "--method", "gptq", "--group-fallback",
                "channel", "--calib", "mnist", "--calib-samples", "64", "--out", out.toString());
        assertThat(nanWeights.code()).isEqualTo(1);
        assertThat(nanWeights.err()).contains("tensor 'layer2/W'", "NaN", "row 4, column 7");
        assertThat(out).doesNotExist();

        MultiLayerNetwork narrow = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(100).nOut(32).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder().nIn(32).nOut(10).activation(Activation.SOFTMAX).build()).build());
        narrow.init();
        Path narrowModel = dir.resolve("narrow.zip");
        ModelSerializer.writeModel(narrow, narrowModel.toFile(), false);
        Launcher.Result width = run("ptq", "--model", narrowModel.toString(), "--method", "gptq", "--group-size", "-1",
                "--calib", "mnist", "--calib-samples", "64", "--out", out.toString());
        assertThat(width.code()).isEqualTo(1);
        assertThat(width.err()).contains("layer 'layer0/W'", "width 784, expected 100");
        assertThat(out).doesNotExist();

        Launcher.Result noModel = run("eval", "--model", dir.resolve("absent.zip").toString());
        assertThat(noModel.code()).isEqualTo(1);
        assertThat(noModel.err()).contains("absent.zip");
    }
}
