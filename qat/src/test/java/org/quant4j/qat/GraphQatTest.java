package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;

/** Qat on ComputationGraphs (several inputs, unsupported vertices) and on an LSTM in a MultiLayerNetwork. */
class GraphQatTest {
    private static final QatConfig INT4_INT8 = QatConfig.builder()
            .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
            .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
            .freezeObserversAfter(20)
            .build();

    static ComputationGraphConfiguration twoInputs() {
        return new NeuralNetConfiguration.Builder().seed(3).updater(new Adam(1e-2)).graphBuilder()
                .addInputs("a", "b")
                .setInputTypes(InputType.feedForward(6), InputType.feedForward(4))
                .addLayer("da", new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build(), "a")
                .addLayer("db", new DenseLayer.Builder().nOut(8).activation(Activation.TANH).build(), "b")
                .addVertex("merge", new MergeVertex(), "da", "db")
                .addLayer("out", new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build(), "merge")
                .setOutputs("out").build();
    }

    @Test
    void twoInputGraphTrainsConvertsAndReloadsExactly() {
        ComputationGraph graph = new ComputationGraph(twoInputs());
        graph.init();
        Qat.prepare(graph, INT4_INT8);
        assertThat(((BaseLayer) graph.getLayer("da").conf().getLayer()).getWeightNoise()).isInstanceOf(FakeQuantWeightNoise.class);
        assertThat(((BaseLayer) graph.getLayer("db").conf().getLayer()).getActivationFn()).isInstanceOf(FakeQuantActivation.class);
        assertThat(((BaseLayer) graph.getLayer("out").conf().getLayer()).getActivationFn()).isNotInstanceOf(FakeQuantActivation.class);
        Nd4j.getRandom().setSeed(1);
        INDArray a = Nd4j.rand(DataType.FLOAT, 64, 6);
        INDArray b = Nd4j.rand(DataType.FLOAT, 64, 4);
        INDArray cls = a.getColumn(0).add(b.getColumn(1)).mul(1.5).castTo(DataType.INT).reshape(64, 1);
        INDArray labels = Nd4j.zeros(DataType.FLOAT, 64, 3);
        for (int i = 0; i < 64; i++) {
            labels.putScalar(i, Math.min(2, cls.getInt(i, 0)), 1f);
        }
        double before = graph.score(new MultiDataSet(new INDArray[] {a, b}, new INDArray[] {labels}));
        for (int i = 0; i < 40; i++) {
            graph.fit(new MultiDataSet(new INDArray[] {a, b}, new INDArray[] {labels}));
        }
        assertThat(graph.score()).isLessThan(before);
        QuantizedModel model = Qat.convert(graph);
        assertThat(model.quantizedTensors()).containsOnlyKeys("da/W", "db/W", "out/W");
        assertThat(model.floatTensors()).containsKeys("da/activation", "db/activation").doesNotContainKey("out/activation");
        ComputationGraph loaded = Qat.load(model, twoInputs());
        INDArray expected = graph.outputSingle(a, b);
        assertThat(expected.sub(loaded.outputSingle(a, b)).amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-5);
        // the prepared graph's own configuration is a valid architecture too
        assertThat(Qat.load(model, graph).outputSingle(a, b).sub(expected).amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void unsupportedVertexIsNamedWithTheSupportedListAndNothingChanges() {
        ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in").setInputTypes(InputType.recurrent(5))
                .addLayer("lstm", new LSTM.Builder().nOut(4).build(), "in")
                .addLayer("graves", new GravesLSTM.Builder().nOut(4).build(), "lstm")
                .addLayer("out", new RnnOutputLayer.Builder().nOut(2).activation(Activation.SOFTMAX).build(), "graves")
                .setOutputs("out").build());
        graph.init();
        assertThatThrownBy(() -> Qat.prepare(graph, INT4_INT8))
                .isInstanceOf(UnsupportedLayerException.class)
                .hasMessageContaining("vertex 'graves' (GravesLSTM)")
                .hasMessageContaining("LSTM (input and recurrent weights; not GravesLSTM");
        assertThat(((BaseLayer) graph.getLayer("lstm").conf().getLayer()).getWeightNoise()).isNull();
        assertThat(graph.getLayer("lstm")).isNotInstanceOf(QuantizedOutputLstm.class);
    }

    @Test
    void lstmInAMultiLayerNetworkQuantizesBothWeightsAndItsOutputAndReloadsExactly() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(2).updater(new Adam(1e-2)).list()
                .layer(new LSTM.Builder().nOut(6).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(5).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder().nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(3, 7)).build());
        net.init();
        MultiLayerNetwork architecture = net.clone();
        Qat.prepare(net, INT4_INT8);
        assertThat(((BaseLayer) net.getLayer(0).conf().getLayer()).getWeightNoise()).isInstanceOf(LstmWeightNoise.class);
        assertThat(net.getLayer(0)).isInstanceOf(QuantizedOutputLstm.class);
        assertThat(net.getLayer("layer0")).isSameAs(net.getLayer(0)); // the name map follows the replacement
        Nd4j.getRandom().setSeed(4);
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 3, 7);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 8 * 7, 2);
        for (int i = 0; i < 8 * 7; i++) {
            y.putScalar(i, i % 2, 1f);
        }
        for (int i = 0; i < 30; i++) {
            net.fit(new DataSet(x, y));
        }
        // the fake-quantized recurrent weight lies on a 4-bit grid per gate unit (column of RW)
        INDArray rw = ((LstmWeightNoise) ((BaseLayer) net.getLayer(0).conf().getLayer()).getWeightNoise())
                .forKey("RW").fakeQuantize(net.getLayer(0).getParam("RW"), 0);
        for (int c = 0; c < rw.columns(); c++) {
            float[] column = rw.getColumn(c).toFloatVector();
            assertThat(java.util.stream.IntStream.range(0, column.length).mapToObj(k -> column[k]).distinct().count())
                    .isLessThanOrEqualTo(16);
        }
        QuantizedModel model = Qat.convert(net);
        assertThat(model.quantizedTensors()).containsOnlyKeys("layer0/W", "layer0/RW", "layer1/W", "layer2/W");
        assertThat(model.floatTensors()).containsKeys("layer0/activation", "layer1/activation", "layer0/b");
        MultiLayerNetwork loaded = Qat.load(model, architecture);
        assertThat(loaded.getLayer(0)).isInstanceOf(QuantizedOutputLstm.class);
        assertThat(net.output(x).sub(loaded.output(x)).amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void bnFreezeRoundTripsThroughJson() {
        QatConfig c = QatConfig.builder().weights(INT4_INT8.weights()).freezeBnStatsAfter(300).build();
        assertThat(c.toJson()).contains("\"freezeBnStatsAfter\":300");
        assertThat(QatConfig.fromJson(c.toJson())).isEqualTo(c);
        String withoutOption = QatConfig.builder().weights(INT4_INT8.weights()).build().toJson()
                .replace(",\"freezeBnStatsAfter\":-1", "");
        assertThat(withoutOption).doesNotContain("freezeBnStatsAfter");
        assertThat(QatConfig.fromJson(withoutOption).freezeBnStatsAfter()).isEqualTo(-1);
    }
}
