package org.quant4j.ptq.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.asym;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.calibrated;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.print;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.rtn.Rtn;

/**
 * AWQ on the CNN (input scales stored for the convolution and for the Dense after the flatten, folded for the output
 * layer; its file reloaded) and on a ComputationGraph ({@link TrainedMnist}); measured figures are printed.
 */
class PtqPipelineAwqConvAndGraphTest {
    @TempDir
    Path dir;

    /** The CNN stores the input scales of its convolution (first layer) and of the Dense after the flatten. */
    @Test
    void awqFileOfTheCnnStoresInputScalesAndReloadsWithTheSameOutputs() throws IOException {
        MultiLayerNetwork cnn = TrainedMnist.cnn();
        double cnnFp32 = TrainedMnist.accuracy(cnn);
        PtqResult<MultiLayerNetwork> rtn = calibrated(PtqPipeline.builder(new Rtn(), asym(4))).sequential(false).build()
                .quantize(cnn);
        PtqResult<MultiLayerNetwork> awq = calibrated(PtqPipeline.builder(new Awq(), asym(4))).build().quantize(cnn);
        print("cnn rtn int4 asym g128", rtn, TrainedMnist.accuracy(rtn.network()), cnnFp32);
        print("cnn awq int4 asym g128", awq, TrainedMnist.accuracy(awq.network()), cnnFp32);
        assertThat(awq.model().floatTensors().get("layer0/W/input_scale").shape()).containsExactly(1); // one channel
        assertThat(awq.model().floatTensors()).containsKey("layer1/W/input_scale");
        assertThat(awq.report().layer("layer1/W").note()).contains("input preprocessor");
        assertThat(awq.report().layer("layer2/W").note()).contains("1/s folded into layer1/W");
        PtqPipelineAwqTest.assertRoundTrip(awq, cnn, dir.resolve("cnn-awq4.q4j"));
    }

    @Test
    void awqOnAComputationGraphFoldsIntoTheHiddenLayer() {
        ComputationGraph graph = TrainedMnist.graph();
        PtqResult<ComputationGraph> awq = calibrated(PtqPipeline.builder(new Awq(), asym(4))).build().quantize(graph);
        PtqResult<ComputationGraph> rtn = calibrated(PtqPipeline.builder(new Rtn(), asym(4))).sequential(false).build()
                .quantize(graph);
        assertThat(awq.report().layer("digit/W").note()).contains("1/s folded into hidden/W");
        assertThat(awq.model().floatTensors()).containsOnlyKeys("hidden/W/input_scale", "hidden/b", "digit/b");
        for (LayerReport l : awq.report().layers()) {
            System.out.printf(Locale.ROOT, "graph %s awq %.3e rtn %.3e%n", l.layer(), l.outputError(),
                    rtn.report().layer(l.layer()).outputError());
            assertThat(l.outputError()).as(l.layer()).isLessThan(rtn.report().layer(l.layer()).outputError());
        }
    }
}
