package org.quant4j.calibration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizationException;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.WeightTarget;
import org.quant4j.model.data.ArrayDataSetIterator;
import org.quant4j.model.zoo.LeNet5;

/**
 * The rows the runner captures are exactly what each target's weight multiplies: for Dense layers the layer input,
 * for convolutions im2col patches such that {@code patches · Wᵀ + b} reproduces DL4J's own convolution output.
 */
class CalibrationRunnerTest {
    private static final double TOLERANCE = 1e-4;

    private static INDArray gaussian(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.FLOAT, shape);
    }

    private static MultiLayerNetwork mlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3).weightInit(WeightInit.XAVIER)
                .list()
                .layer(new DenseLayer.Builder().nIn(12).nOut(8).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(8).nOut(6).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(6).nOut(3).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        return net;
    }

    private static DataSetIterator iterator(INDArray features, int batch) {
        return new ArrayDataSetIterator(features, Nd4j.zeros(DataType.FLOAT, features.size(0), 1), batch, null);
    }

    @Test
    void denseTargetsGetTheirLayersInputComputedWithTheCurrentWeights() {
        MultiLayerNetwork net = mlp();
        List<WeightTarget> targets = Dl4jNetwork.of(net).targets();
        CalibrationRunner runner = CalibrationRunner.of(net);
        INDArray x = gaussian(1, 20, 12);

        assertThat(runner.layerRows(targets.get(0), x)).isEqualTo(x);
        INDArray hidden = relu(x.mmul(net.getParam("0_W")).addRowVector(net.getParam("0_b")));
        assertThat(close(runner.layerRows(targets.get(1), x), hidden)).isTrue();
        INDArray second = org.nd4j.linalg.ops.transforms.Transforms.tanh(
                hidden.mmul(net.getParam("1_W")).addRowVector(net.getParam("1_b")));
        assertThat(close(runner.layerRows(targets.get(2), x), second)).isTrue();

        net.getParam("0_W").muli(0.5); // a weight written back changes what later layers see
        INDArray halved = relu(x.mmul(net.getParam("0_W")).addRowVector(net.getParam("0_b")));
        assertThat(close(runner.layerRows(targets.get(1), x), halved)).isTrue();
        assertThat(runner.inputWidth(targets.get(1))).isEqualTo(8);
    }

    @Test
    void statisticsAreTheGptqHessianOfTheCapturedRowsWhateverTheBatchSize() {
        MultiLayerNetwork net = mlp();
        WeightTarget hidden = Dl4jNetwork.of(net).targets().get(1);
        CalibrationRunner runner = CalibrationRunner.of(net);
        INDArray x = gaussian(2, 53, 12);
        INDArray rows = runner.layerRows(hidden, x);
        INDArray expected = rows.transpose().mmul(rows).muli(2.0 / 53);

        LayerStats byFive = runner.collect(hidden, iterator(x, 5), 16, 9, CalibrationRunner.BatchListener.NONE);
        LayerStats whole = runner.collect(hidden, x, 53, 16, 9, CalibrationRunner.BatchListener.NONE);
        assertThat(byFive.rowCount()).isEqualTo(53);
        assertThat(close(byFive.hessian(), expected)).isTrue();
        assertThat(close(whole.hessian(), expected)).isTrue();
        assertThat(byFive.sampleRows()).isEqualTo(whole.sampleRows());
        assertThat(byFive.meanAbs()).containsExactly(whole.meanAbs(), org.assertj.core.data.Offset.offset(1e-6f));
    }

    @Test
    void theListenerHearsEveryBatchAndAResettableIteratorCanBeCollectedAgain() {
        MultiLayerNetwork net = mlp();
        WeightTarget first = Dl4jNetwork.of(net).targets().get(0);
        CalibrationRunner runner = CalibrationRunner.of(net);
        DataSetIterator data = iterator(gaussian(3, 23, 12), 10);
        List<long[]> heard = new java.util.ArrayList<>();
        runner.collect(first, data, 4, 0, (batches, rows) -> heard.add(new long[] {batches, rows}));
        assertThat(heard).containsExactly(new long[] {1, 10}, new long[] {2, 20}, new long[] {3, 23});
        assertThat(runner.collect(first, data).rowCount()).isEqualTo(23);
    }

    /** DL4J's convolution output for one conv layer with identity activation, against patches · Wᵀ + b. */
    private static void assertPatchesReproduceTheConvolution(ConvolutionLayer.Builder conv, InputType input, INDArray x) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).weightInit(WeightInit.XAVIER).list()
                .layer(conv.activation(Activation.IDENTITY).build())
                .setInputType(input).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.getParam("0_b").assign(gaussian(6, net.getParam("0_b").shape()));
        ConvolutionLayer layer = (ConvolutionLayer) net.getLayer(0).conf().getLayer();
        Dl4jNetwork view = Dl4jNetwork.of(net);
        WeightTarget target = view.targets().get(0);
        INDArray w = view.weight(target); // [out, in, kh, kw]
        long out = w.size(0);

        INDArray rows = CalibrationRunner.of(net).layerRows(target, x);
        INDArray viaPatches = rows.mmul(w.reshape('c', out, w.length() / out).transpose())
                .addRowVector(net.getParam("0_b").reshape(1, out));

        INDArray dl4j = net.feedForward(x, false).get(1); // [n, out, oh, ow] or [n, oh, ow, out]
        INDArray nhwc = layer.getCnn2dDataFormat() == CNN2DFormat.NHWC ? dl4j : dl4j.permute(0, 2, 3, 1);
        INDArray expected = nhwc.dup('c').reshape('c', rows.size(0), out);
        assertThat(rows.size(1)).isEqualTo(w.length() / out);
        assertThat(close(viaPatches, expected)).as("patches · Wᵀ + b equals the convolution for %s", layer).isTrue();
    }

    @Test
    void convolutionPatchesReproduceDl4jsConvolutionWithPaddingStrideAndDilation() {
        INDArray x = gaussian(7, 3, 2, 11, 9);
        InputType chw = InputType.convolutional(11, 9, 2);
        assertPatchesReproduceTheConvolution(new ConvolutionLayer.Builder(3, 3).nOut(4)
                .convolutionMode(ConvolutionMode.Truncate), chw, x);
        assertPatchesReproduceTheConvolution(new ConvolutionLayer.Builder(5, 3).nOut(3).padding(2, 1).stride(2, 1)
                .convolutionMode(ConvolutionMode.Truncate), chw, x);
        assertPatchesReproduceTheConvolution(new ConvolutionLayer.Builder(3, 2).nOut(5).stride(2, 3)
                .convolutionMode(ConvolutionMode.Same), chw, x);
        assertPatchesReproduceTheConvolution(new ConvolutionLayer.Builder(3, 3).nOut(2).dilation(2, 2)
                .convolutionMode(ConvolutionMode.Same), chw, x);
        assertPatchesReproduceTheConvolution(new ConvolutionLayer.Builder(3, 3).nOut(4).padding(1, 1)
                .dataFormat(CNN2DFormat.NHWC).convolutionMode(ConvolutionMode.Truncate),
                InputType.convolutional(11, 9, 2, CNN2DFormat.NHWC), x.permute(0, 2, 3, 1).dup('c'));
    }

    @Test
    void leNetTargetsAfterPoolingAndFlatteningGetTheRowsTheirWeightsMultiply() {
        MultiLayerNetwork net = LeNet5.network(11);
        Dl4jNetwork view = Dl4jNetwork.of(net);
        CalibrationRunner runner = CalibrationRunner.of(net);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
        List<INDArray> activations = net.feedForward(x, false);

        WeightTarget conv2 = view.targets().get(1); // layer 2, input = pooled [4, 6, 14, 14]
        INDArray w = view.weight(conv2);
        INDArray rows = runner.layerRows(conv2, x);
        assertThat(rows.shape()).containsExactly(4 * 10 * 10, 6 * 5 * 5);
        INDArray conv = relu(rows.mmul(w.reshape('c', 16, 150).transpose()).addRowVector(net.getParam("2_b").reshape(1, 16)));
        assertThat(close(conv, activations.get(3).permute(0, 2, 3, 1).dup('c').reshape('c', 400, 16))).isTrue();

        WeightTarget dense = view.targets().get(2); // layer 4, after CnnToFeedForwardPreProcessor
        INDArray flat = runner.layerRows(dense, x);
        assertThat(flat.shape()).containsExactly(4, 400);
        assertThat(close(flat, activations.get(4).reshape('c', 4, 400))).isTrue(); // [4, 16, 5, 5] flattened
        assertThat(runner.inputWidth(conv2)).isEqualTo(150);
        assertThat(runner.inputWidth(dense)).isEqualTo(400);
    }

    @Test
    void convolutionStatisticsDoNotDependOnHowABatchIsChunked() {
        MultiLayerNetwork net = LeNet5.network(12);
        WeightTarget conv1 = Dl4jNetwork.of(net).targets().get(0);
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 784);
        LayerStats whole = CalibrationRunner.of(net).collect(conv1, x, 6, 300, 4, CalibrationRunner.BatchListener.NONE);
        LayerStats perImage = CalibrationRunner.of(net).withMaxChunkFloats(1)
                .collect(conv1, x, 6, 300, 4, CalibrationRunner.BatchListener.NONE);
        assertThat(whole.rowCount()).isEqualTo(perImage.rowCount()).isEqualTo(6 * 28 * 28);
        assertThat(close(whole.hessian(), perImage.hessian())).isTrue();
        assertThat(whole.sampleRows()).isEqualTo(perImage.sampleRows());
    }

    @Test
    void forEachRowsHandsOverTheRowsCollectAccumulatesInChunksOrWhole() {
        MultiLayerNetwork net = LeNet5.network(12);
        WeightTarget conv1 = Dl4jNetwork.of(net).targets().get(0);
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 784);
        INDArray expected = CalibrationRunner.of(net).layerRows(conv1, x);
        List<INDArray> chunks = new java.util.ArrayList<>();
        long rows = CalibrationRunner.of(net).withMaxChunkFloats(1).forEachRows(conv1, x, 4, r -> chunks.add(r.dup()));
        assertThat(rows).isEqualTo(6 * 28 * 28);
        assertThat(chunks).hasSize(6); // one image per chunk
        assertThat(Nd4j.vstack(chunks.toArray(INDArray[]::new))).isEqualTo(expected);

        MultiLayerNetwork small = mlp();
        WeightTarget dense = Dl4jNetwork.of(small).targets().get(1);
        CalibrationRunner runner = CalibrationRunner.of(small);
        INDArray y = gaussian(5, 10, 12);
        List<INDArray> batches = new java.util.ArrayList<>();
        assertThat(runner.forEachRows(dense, iterator(y, 4), r -> batches.add(r.dup()))).isEqualTo(10);
        assertThat(batches).hasSize(3);
        assertThat(close(Nd4j.vstack(batches.toArray(INDArray[]::new)), runner.layerRows(dense, y))).isTrue();
        assertThatThrownBy(() -> runner.forEachRows(dense, Nd4j.zeros(DataType.FLOAT, 0, 12), 4, r -> { }))
                .isInstanceOf(InvalidTensorException.class).hasMessageContainingAll("layer 'layer1/W'", "calibration set is empty");
    }

    @Test
    void aComputationGraphsLayersGetTheirInputsToo() {
        ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(4).graphBuilder()
                .addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(12).nOut(7).activation(Activation.RELU).build(), "in")
                .addLayer("out", new OutputLayer.Builder().nIn(7).nOut(3).activation(Activation.SOFTMAX).build(), "hidden")
                .setOutputs("out").build());
        graph.init();
        Dl4jNetwork view = Dl4jNetwork.of(graph);
        CalibrationRunner runner = CalibrationRunner.of(graph);
        INDArray x = gaussian(8, 9, 12);
        assertThat(runner.layerRows(view.target("hidden/W"), x)).isEqualTo(x);
        INDArray hidden = relu(x.mmul(graph.getParam("hidden_W")).addRowVector(graph.getParam("hidden_b")));
        assertThat(close(runner.layerRows(view.target("out/W"), x), hidden)).isTrue();
        assertThat(runner.collect(view.target("out/W"), iterator(x, 4)).rowCount()).isEqualTo(9);
    }

    @Test
    void anEmptyCalibrationSetNamesTheLayer() {
        MultiLayerNetwork net = mlp();
        WeightTarget hidden = Dl4jNetwork.of(net).targets().get(1);
        CalibrationRunner runner = CalibrationRunner.of(net);
        assertThatThrownBy(() -> runner.collect(hidden, Nd4j.zeros(DataType.FLOAT, 0, 12), 8, 4, 0,
                CalibrationRunner.BatchListener.NONE))
                .isInstanceOf(InvalidTensorException.class).hasMessageContainingAll("layer 'layer1/W'", "calibration set is empty");
        DataSetIterator exhausted = new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(List.of(
                new org.nd4j.linalg.dataset.DataSet(gaussian(1, 2, 12), Nd4j.zeros(2, 1))).iterator());
        runner.collect(hidden, exhausted);
        assertThatThrownBy(() -> runner.collect(hidden, exhausted)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContainingAll("layer 'layer1/W'", "calibration set is empty", "cannot be reset");
    }

    @Test
    void dataOfTheWrongWidthNamesTheLayer() {
        MultiLayerNetwork net = mlp();
        List<WeightTarget> targets = Dl4jNetwork.of(net).targets();
        CalibrationRunner runner = CalibrationRunner.of(net);
        DataSetIterator narrow = iterator(gaussian(9, 10, 11), 5);
        assertThatThrownBy(() -> runner.collect(targets.get(0), narrow)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContainingAll("layer 'layer0/W'", "width 11, expected 12");
        assertThatThrownBy(() -> runner.collect(targets.get(1), narrow)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContainingAll("layer 'layer1/W'", "cannot compute this layer's input", "[5, 11]");
    }

    @Test
    void nonFiniteActivationsNameTheLayer() {
        MultiLayerNetwork net = mlp();
        WeightTarget hidden = Dl4jNetwork.of(net).targets().get(1);
        INDArray x = gaussian(10, 6, 12);
        x.putScalar(3, 4, Float.POSITIVE_INFINITY);
        assertThatThrownBy(() -> CalibrationRunner.of(net).collect(hidden, iterator(x, 6)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContainingAll("layer 'layer1/W'", "must be finite");
    }

    @Test
    void recurrentWeightsAreNotCapturedAndSaySo() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new LSTM.Builder().nIn(4).nOut(5).build())
                .layer(new RnnOutputLayer.Builder().nIn(5).nOut(2).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        WeightTarget recurrent = Dl4jNetwork.of(net).target("layer0/RW");
        CalibrationRunner runner = CalibrationRunner.of(net);
        assertThat(runner.supports(recurrent)).isFalse();
        assertThatThrownBy(() -> runner.collect(recurrent, iterator(gaussian(1, 3, 4), 3)))
                .isInstanceOf(QuantizationException.class).hasMessageContainingAll("layer 'layer0/RW'", "LSTM", "rtn, hqq");
    }

    /** An RnnOutputLayer's rows are its input's time steps: rows·W + b is its pre-activation at every step. */
    @Test
    void rnnOutputLayerRowsAreItsTimeSteps() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3).list()
                .layer(new LSTM.Builder().nIn(4).nOut(5).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(5).nOut(2)
                        .activation(Activation.IDENTITY).build())
                .build());
        net.init();
        WeightTarget out = Dl4jNetwork.of(net).target("layer1/W");
        CalibrationRunner runner = CalibrationRunner.of(net);
        assertThat(runner.supports(out)).isTrue();
        assertThat(runner.inputWidth(out)).isEqualTo(5);
        INDArray x = gaussian(3, 3, 4, 6);
        INDArray rows = runner.layerRows(out, x);
        assertThat(rows.shape()).containsExactly(3 * 6, 5);
        INDArray expected = net.output(x).permute(0, 2, 1).dup('c').reshape('c', 3 * 6, 2); // [batch, 2, steps]
        INDArray actual = rows.mmul(net.getLayer(1).getParam("W")).addiRowVector(net.getLayer(1).getParam("b"));
        assertThat(close(actual, expected)).isTrue();
    }

    private static INDArray relu(INDArray x) {
        return org.nd4j.linalg.ops.transforms.Transforms.relu(x, true);
    }

    private static boolean close(INDArray actual, INDArray expected) {
        assertThat(actual.shape()).containsExactly(expected.shape());
        double scale = Math.max(1, expected.amaxNumber().doubleValue());
        return actual.castTo(DataType.DOUBLE).sub(expected.castTo(DataType.DOUBLE)).amaxNumber().doubleValue() <= TOLERANCE * scale;
    }
}
