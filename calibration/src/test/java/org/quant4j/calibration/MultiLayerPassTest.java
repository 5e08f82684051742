package org.quant4j.calibration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.ModelBlock;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.TargetGroup;
import org.quant4j.model.WeightTarget;
import org.quant4j.model.zoo.LeNet5;

/**
 * A MultiLayerNetwork's blocks are runs of its layers and its pass carries each block's inputs forward: the rows it
 * captures block by block are those a forward from the network input gives ({@link CalibrationRunner#layerRows}),
 * through pooling and flattening, for LeNet-5 and an LSTM + RnnOutput network; after a weight changes, the next
 * block's rows follow the changed weight, as true-sequential calibration needs.
 */
class MultiLayerPassTest {
    private static final double TOLERANCE = 1e-5;

    @Test
    void leNetRowsBlockByBlockEqualAForwardFromTheInput() {
        MultiLayerNetwork net = LeNet5.network(7);
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.rand(DataType.FLOAT, 10, 784);
        Dl4jModel model = Dl4jModel.of(net, "lenet");
        // conv, conv, then the Dense layers chained by their AWQ folds; pooling runs with the block before it
        assertThat(model.blocks()).extracting(ModelBlock::name).containsExactly("layer0", "layer2", "layer4..layer6");
        assertSameRowsAsFromTheInput(net, model, x, 4);
    }

    @Test
    void recurrentBlocksCarryTheSequenceAndSkipRecurrentWeights() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3).list()
                .layer(new LSTM.Builder().nIn(4).nOut(5).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(5).nOut(2)
                        .activation(Activation.IDENTITY).build())
                .build());
        net.init();
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, 6, 4, 7);
        Dl4jModel model = Dl4jModel.of(net, "lstm");
        assertThat(model.blocks()).hasSize(2);
        assertThat(model.blocks().get(0).groups()).hasSize(2); // W (captured), RW (not capturable)
        assertSameRowsAsFromTheInput(net, model, x, 3);
    }

    @Test
    void aChangedWeightChangesTheNextBlocksRows() {
        MultiLayerNetwork net = LeNet5.network(8);
        Nd4j.getRandom().setSeed(6);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
        Dl4jModel model = Dl4jModel.of(net, "lenet");
        CalibrationPass pass = model.open(CalibrationData.of(x, 4, "random images"));
        QuantTarget conv1 = model.blocks().get(0).groups().get(0).first();
        model.setWeight(conv1, model.weight(conv1).mul(0.5));
        pass.advance(0, null);
        TargetGroup next = model.blocks().get(1).groups().get(0);
        INDArray captured = rows(pass, 1, 0);
        WeightTarget t = Dl4jNetwork.of(net).target(next.first().name());
        INDArray expected = CalibrationRunner.of(net).layerRows(t, x);
        assertThat(maxDiff(captured, expected)).isLessThan(TOLERANCE);
    }

    @Test
    void blocksOutOfOrderAreRefused() {
        MultiLayerNetwork net = LeNet5.network(9);
        Dl4jModel model = Dl4jModel.of(net, "lenet");
        CalibrationPass pass = model.open(CalibrationData.of(Nd4j.rand(DataType.FLOAT, 2, 784), 2, "two images"));
        assertThatThrownBy(() -> pass.capture(1, 0, (g, r) -> { }))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not of block 1");
    }

    /** Captures every capturable group block by block (batches of 3) and compares with a forward from the input. */
    private static void assertSameRowsAsFromTheInput(MultiLayerNetwork net, Dl4jModel model, INDArray x, int batch) {
        CalibrationRunner runner = CalibrationRunner.of(net);
        Dl4jNetwork view = Dl4jNetwork.of(net);
        CalibrationPass pass = model.open(CalibrationData.of(x, batch, "random inputs"));
        int compared = 0;
        for (int b = 0; b < model.blocks().size(); b++) {
            List<TargetGroup> groups = model.blocks().get(b).groups();
            for (int g = 0; g < groups.size(); g++) {
                if (!groups.get(g).first().capturable()) {
                    continue;
                }
                INDArray expected = runner.layerRows(view.target(groups.get(g).first().name()), x);
                assertThat(maxDiff(rows(pass, b, g), expected)).as(groups.get(g).name()).isLessThan(TOLERANCE);
                compared++;
            }
            pass.advance(b, null);
        }
        assertThat(compared).isPositive();
    }

    private static INDArray rows(CalibrationPass pass, int block, int group) {
        List<INDArray> parts = new ArrayList<>();
        pass.capture(block, group, (g, r) -> parts.add(r.dup()));
        return Nd4j.concat(0, parts.toArray(INDArray[]::new));
    }

    private static double maxDiff(INDArray a, INDArray b) {
        assertThat(a.shape()).containsExactly(b.shape());
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue()
                / Math.max(1, b.amaxNumber().doubleValue());
    }
}
