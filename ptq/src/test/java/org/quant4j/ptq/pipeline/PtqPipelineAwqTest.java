package org.quant4j.ptq.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.asym;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.calibrated;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.print;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.calibration.Dl4jModel;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.ScaledTarget;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.rtn.Rtn;

/**
 * AWQ in the pipeline on the MNIST MLP 784-1024-1024-10 (ReLU) trained on real digits ({@link TrainedMnist}):
 * held-out output errors against RTN (training digits 5952..7999), the folding, the file round trip and bad input.
 * Measured figures are printed.
 */
class PtqPipelineAwqTest {
    private static final List<String> LAYERS = List.of("layer0/W", "layer1/W", "layer2/W");
    private static MultiLayerNetwork net;
    private static double fp32;

    private static PtqResult<MultiLayerNetwork> awq4;

    @TempDir
    Path dir;

    @BeforeAll
    static void train() {
        net = TrainedMnist.mlp();
        fp32 = TrainedMnist.accuracy(net);
    }

    /**
     * AWQ and RTN both on the float network's inputs (AWQ always is; RTN with {@code sequential(false)}), so each
     * layer's error compares the two quantizers of the same weight on the same rows.
     */
    @Test
    void awqHasALowerHeldOutOutputErrorThanRtnOnEveryLayerAt4And3Bits() {
        for (int bits : new int[] {4, 3}) {
            PtqResult<MultiLayerNetwork> awq = bits == 4 ? awq4() : calibrated(PtqPipeline.builder(new Awq(), asym(bits)))
                    .build().quantize(net);
            PtqResult<MultiLayerNetwork> rtn = calibrated(PtqPipeline.builder(new Rtn(), asym(bits))).sequential(false)
                    .build().quantize(net);
            print("awq int" + bits + " asym g128", awq, TrainedMnist.accuracy(awq.network()), fp32);
            print("rtn int" + bits + " asym g128", rtn, TrainedMnist.accuracy(rtn.network()), fp32);
            assertThat(awq.report().sequential()).as("AWQ runs on float inputs").isFalse();
            for (String layer : LAYERS) {
                assertThat(awq.report().layer(layer).outputError()).as("%d bits, %s", bits, layer)
                        .isLessThan(rtn.report().layer(layer).outputError());
            }
            // layer1 and layer2 fold 1/s into the Dense before them: only the first layer stores its input scales
            assertThat(awq.model().floatTensors()).containsOnlyKeys("layer0/W/input_scale", "layer0/b", "layer1/b",
                    "layer2/b");
            assertThat(awq.report().layer("layer1/W").note()).contains("1/s folded into layer0/W");
            assertThat(awq.report().layer("layer0/W").note()).contains("input_scale stored (first layer)");
            assertThat(awq.report().layer("layer0/W").bitsPerWeight())
                    .isEqualTo(bits + (16.0 + bits) / 112 + 32.0 / 1024); // codes, FP16 scale and int zero per group, fp32 input scale
            if (bits == 4) {
                assertThat(TrainedMnist.accuracy(awq.network())).isGreaterThanOrEqualTo(fp32 - 0.005);
            }
        }
    }

    @Test
    void foldingTheScalesLeavesTheFloatNetworkUnchanged() {
        MultiLayerNetwork copy = net.clone();
        Dl4jModel model = Dl4jModel.of(copy, "mlp");
        List<ScaleGroup> groups = model.scaleGroups(0);
        assertThat(groups.get(1).foldInto()).isEqualTo("1/s folded into layer0/W");
        assertThat(groups.get(2).foldInto()).isEqualTo("1/s folded into layer1/W");
        assertThat(groups.get(0).foldInto()).isEqualTo("input_scale stored (first layer)");
        Random random = new Random(5);
        Map<String, float[]> scales = new LinkedHashMap<>();
        for (QuantTarget t : model.targets()) {
            float[] s = new float[(int) t.shape()[1]];
            for (int c = 0; c < s.length; c++) {
                s[c] = (float) Math.exp(random.nextGaussian()); // far wider than AWQ's scales
            }
            scales.put(t.name(), s);
        }
        Map<String, ScaledTarget> scaled = model.applyScales(0, scales);
        assertThat(scaled.get("layer1/W").storeInputScale()).isFalse();
        assertThat(scaled.get("layer0/W").storeInputScale()).isTrue();
        assertThat(scaled.get("layer0/W").rowScales()).isSameAs(scales.get("layer1/W"));
        INDArray x = TrainedMnist.trainRows(5952, 6464);
        List<INDArray> before = net.feedForward(x, false);
        List<INDArray> after = copy.feedForward(x, false);
        assertThat(after.get(1)).as("layer0's output is divided by layer1's scales").isNotEqualTo(before.get(1));
        double diff = after.get(3).sub(before.get(3)).amaxNumber().doubleValue();
        System.out.printf(Locale.ROOT, "folded float MLP: max |output difference| %.2e%n", diff);
        assertThat(diff).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void awqAndClaqWithoutCalibrationOrWithASpecAwqCannotUseAreRefusedByName() {
        assertThatThrownBy(() -> PtqPipeline.builder(new Awq(), asym(4)).groupFallback(GroupFallback.LARGEST_DIVISOR)
                .build().quantize(net)).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("awq needs calibration data");
        assertThatThrownBy(() -> PtqPipeline.builder(new Claq(ClaqParams.adaptive(2.5))).build().quantize(net))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("claq needs calibration data");
        QuantSpec perTensor = QuantSpec.builder().bits(4).perTensor().build();
        assertThatThrownBy(() -> calibrated(PtqPipeline.builder(new Awq(), perTensor)).build().quantize(net))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("layer0/W");
    }

    /** AWQ int4 asym g128 of the MLP, run once for the tests that use it (also PtqPipelineAwqGptqTest). */
    static synchronized PtqResult<MultiLayerNetwork> awq4() {
        if (awq4 == null) {
            awq4 = calibrated(PtqPipeline.builder(new Awq(), asym(4))).build().quantize(TrainedMnist.mlp());
        }
        return awq4;
    }

    @Test
    void awqFileReloadsIntoTheMlpWithTheSameOutputs() throws IOException {
        assertRoundTrip(awq4(), net, dir.resolve("mlp-awq4.q4j"));
    }

    static void assertRoundTrip(PtqResult<MultiLayerNetwork> result, MultiLayerNetwork original, Path file)
            throws IOException {
        result.writeModel(file);
        QuantizedModel read = ModelFileReader.read(file);
        assertThat(read).isEqualTo(result.model());
        MultiLayerNetwork fresh = original.clone();
        QuantizedWeights.load(Dl4jNetwork.of(fresh), read);
        INDArray x = TrainedMnist.trainRows(5952, 6464);
        assertThat(fresh.output(x)).as(file.getFileName().toString()).isEqualTo(result.network().output(x));
        assertThat(TrainedMnist.accuracy(original)).as("the input network is not changed").isEqualTo(
                TrainedMnist.accuracy(original.clone()));
    }
}
