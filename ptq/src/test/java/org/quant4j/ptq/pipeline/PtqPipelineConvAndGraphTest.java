package org.quant4j.ptq.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.rtn.Rtn;
import org.quant4j.ptq.GridSolver;

/**
 * The pipeline on a convolutional network (the convolution calibrated through im2col patches) and on a
 * ComputationGraph, both trained briefly on real MNIST digits.
 */
class PtqPipelineConvAndGraphTest {
    private static final QuantSpec INT4_G128 = QuantSpec.builder().bits(4).groupSize(128).build();

    @TempDir
    Path dir;

    private static PtqPipeline pipeline(GridSolver solver, QuantSpec spec) {
        return PtqPipeline.builder(solver, spec).groupFallback(GroupFallback.LARGEST_DIVISOR)
                .calibration(TrainedMnist.calibration()).heldOut(TrainedMnist.heldOut()).build();
    }

    private static void assertGptqBelowRtnOnEveryLayer(PtqReport gptq, PtqReport rtn) {
        for (LayerReport g : gptq.layers()) {
            LayerReport r = rtn.layer(g.layer());
            System.out.printf(Locale.ROOT, "%-10s %-16s %-14s gptq %.3e  rtn %.3e%n", g.layer(), g.layerType(), g.spec(),
                    g.outputError(), r.outputError());
            assertThat(g.outputError()).as(g.layer()).isLessThan(r.outputError());
        }
    }

    @Test
    void gptqBeatsRtnOnEveryLayerOfACnnIncludingTheConvolution() {
        MultiLayerNetwork cnn = TrainedMnist.cnn();
        double fp32 = TrainedMnist.accuracy(cnn);
        for (int bits : new int[] {4, 3}) {
            QuantSpec spec = INT4_G128.toBuilder().bits(bits).build();
            PtqResult<MultiLayerNetwork> gptq = pipeline(new Gptq(), spec).quantize(cnn);
            PtqResult<MultiLayerNetwork> rtn = pipeline(new Rtn(), spec).quantize(cnn);
            System.out.printf(Locale.ROOT, "CNN %d bits: fp32 %.2f%%, gptq %.2f%%, rtn %.2f%%%n", bits, 100 * fp32,
                    100 * TrainedMnist.accuracy(gptq.network()), 100 * TrainedMnist.accuracy(rtn.network()));
            assertGptqBelowRtnOnEveryLayer(gptq.report(), rtn.report());
            LayerReport conv = gptq.report().layer("layer0/W");
            assertThat(conv.shape()).containsExactly(8, 1, 5, 5);
            assertThat(conv.spec()).isEqualTo("int" + bits + "-sym-g25"); // one group of 1·5·5 columns per filter
            assertThat(conv.calibrationRows()).isEqualTo(512L * 12 * 12); // one patch per output position
        }
    }

    @Test
    void aComputationGraphIsQuantizedWrittenAndReloaded() throws IOException {
        ComputationGraph graph = TrainedMnist.graph();
        double fp32 = TrainedMnist.accuracy(graph);
        PtqResult<ComputationGraph> gptq = pipeline(new Gptq(), INT4_G128).quantize(graph);
        PtqResult<ComputationGraph> rtn = pipeline(new Rtn(), INT4_G128).quantize(graph);
        assertGptqBelowRtnOnEveryLayer(gptq.report(), rtn.report());
        assertThat(gptq.model().quantizedTensors()).containsOnlyKeys("hidden/W", "digit/W");
        assertThat(gptq.model().floatTensors()).containsOnlyKeys("hidden/b", "digit/b");

        Path file = dir.resolve("graph.q4j");
        gptq.writeModel(file);
        ComputationGraph fresh = graph.clone();
        QuantizedWeights.load(Dl4jNetwork.of(fresh), ModelFileReader.read(file));
        double accuracy = TrainedMnist.accuracy(fresh);
        System.out.printf(Locale.ROOT, "graph: fp32 %.2f%%, gptq int4 g128 reloaded %.2f%%%n", 100 * fp32, 100 * accuracy);
        assertThat(accuracy).isEqualTo(TrainedMnist.accuracy(gptq.network()));
        assertThat(accuracy).isGreaterThanOrEqualTo(fp32 - 0.005);
    }
}
