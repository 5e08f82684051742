package org.quant4j.ptq.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.asym;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.calibrated;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.print;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.gptq.Gptq;

/**
 * AWQ with GPTQ (act-order) as the quantizing step in the pipeline, on the MNIST MLP 784-1024-1024-10
 * ({@link TrainedMnist}): held-out per-layer output errors against plain AWQ, the report, and the file round trip
 * (act-order group indices included). Measured figures are printed.
 *
 * <p>Measured (int4 asym g128, held-out): layer1 and layer2 about halve AWQ's error, but layer0 (784 pixel inputs,
 * 197 of them never lit in the 512 calibration digits, AWQ scales spanning 0.006..164) is worse than AWQ's
 * (4.4e-3 against 2.9e-3, also in-sample), and on every layer above plain GPTQ's; so only layers 1 and 2 are
 * asserted below AWQ.
 */
class PtqPipelineAwqGptqTest {
    private static final List<String> LAYERS = List.of("layer0/W", "layer1/W", "layer2/W");
    private static MultiLayerNetwork net;
    private static double fp32;
    private static PtqResult<MultiLayerNetwork> awq;
    private static PtqResult<MultiLayerNetwork> awqGptq;

    @TempDir
    Path dir;

    @BeforeAll
    static void run() {
        net = TrainedMnist.mlp();
        fp32 = TrainedMnist.accuracy(net);
        awq = PtqPipelineAwqTest.awq4();
        Gptq gptq = Gptq.builder().actOrder(true).build();
        awqGptq = calibrated(PtqPipeline.builder(Awq.builder().gptq(gptq).build(), asym(4))).build().quantize(net);
        print("awq int4 asym g128", awq, TrainedMnist.accuracy(awq.network()), fp32);
        print("awq+gptq (act-order) int4 asym g128", awqGptq, TrainedMnist.accuracy(awqGptq.network()), fp32);
    }

    @Test
    void gptqAsTheQuantizingStepLowersAwqsHeldOutErrorOnTheHiddenLayers() {
        for (String layer : List.of("layer1/W", "layer2/W")) {
            assertThat(awqGptq.report().layer(layer).outputError()).as(layer)
                    .isLessThan(0.7 * awq.report().layer(layer).outputError());
        }
        for (String layer : LAYERS) {
            assertThat(awqGptq.report().layer(layer).note()).as(layer).contains("gptq").doesNotContain("clip");
        }
        assertThat(awqGptq.report().method()).isEqualTo("awq+gptq");
        assertThat(awqGptq.model().metadata()).containsEntry("method", "awq+gptq");
        assertThat(awqGptq.report().sequential()).as("AWQ's scales on float inputs").isFalse();
        assertThat(awqGptq.model().floatTensors()).as("the same folding as AWQ").containsOnlyKeys("layer0/W/input_scale",
                "layer0/b", "layer1/b", "layer2/b");
        assertThat(TrainedMnist.accuracy(awqGptq.network())).isGreaterThanOrEqualTo(fp32 - 0.005);
    }

    @Test
    void theFileReloadsIntoTheMlpWithTheSameOutputs() throws IOException {
        QuantizedTensor layer1 = awqGptq.model().quantizedTensors().get("layer1/W");
        assertThat(layer1.hasGroupIndex()).as("act-order's group index is stored").isTrue();
        PtqPipelineAwqTest.assertRoundTrip(awqGptq, net, dir.resolve("mlp-awq-gptq4.q4j"));
    }
}
