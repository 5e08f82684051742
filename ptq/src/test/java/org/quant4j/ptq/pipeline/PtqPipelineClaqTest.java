package org.quant4j.ptq.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.asym;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.calibrated;
import static org.quant4j.ptq.pipeline.AwqClaqRuns.print;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.rtn.Rtn;

/** CLAQ in the pipeline on the MNIST MLP 784-1024-1024-10 trained on real digits ({@link TrainedMnist}). */
class PtqPipelineClaqTest {
    private static final List<String> LAYERS = List.of("layer0/W", "layer1/W", "layer2/W");

    @TempDir
    Path dir;

    @Test
    void claqAt2point5BitsBeatsRtnAt2BitsAndReportsItsStoredBits() throws IOException {
        MultiLayerNetwork net = TrainedMnist.mlp();
        double fp32 = TrainedMnist.accuracy(net);
        PtqResult<MultiLayerNetwork> claq = calibrated(PtqPipeline.builder(new Claq(ClaqParams.adaptive(2.5)))).build()
                .quantize(net);
        PtqResult<MultiLayerNetwork> rtn = calibrated(PtqPipeline.builder(new Rtn(), asym(2))).build().quantize(net);
        double claqAccuracy = TrainedMnist.accuracy(claq.network());
        double rtnAccuracy = TrainedMnist.accuracy(rtn.network());
        print("claq 2.5", claq, claqAccuracy, fp32);
        print("rtn int2 asym g128", rtn, rtnAccuracy, fp32);
        for (String layer : LAYERS) {
            assertThat(claq.report().layer(layer).outputError()).as(layer).isLessThan(rtn.report().layer(layer).outputError());
        }
        assertThat(claqAccuracy).isGreaterThan(rtnAccuracy);
        assertThat(claq.model().quantizedTensors()).isEmpty();
        assertThat(claq.model().claqTensors()).containsOnlyKeys(LAYERS);
        long bytes = 0;
        long weights = 0;
        for (String layer : LAYERS) {
            ClaqTensor t = claq.model().claqTensors().get(layer);
            assertThat(claq.report().layer(layer).bitsPerWeight()).isEqualTo(8.0 * t.storageBytes() / t.size());
            assertThat(t.averageCodeBits()).isBetween(2.45, 2.55);
            bytes += t.storageBytes();
            weights += t.size();
        }
        assertThat(claq.report().bitsPerWeight()).isEqualTo(8.0 * bytes / weights).isGreaterThan(2.5);
        assertThat(claq.report().specName()).startsWith("claq(");

        Path file = dir.resolve("mlp-claq.q4j");
        claq.writeModel(file);
        MultiLayerNetwork fresh = net.clone();
        assertThat(QuantizedWeights.load(Dl4jNetwork.of(fresh), ModelFileReader.read(file)))
                .isEqualTo(new QuantizedWeights.Loaded(3, 3));
        INDArray x = TrainedMnist.trainRows(5952, 6464);
        assertThat(fresh.output(x)).isEqualTo(claq.network().output(x));
    }
}
