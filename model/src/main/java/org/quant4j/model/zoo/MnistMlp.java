package org.quant4j.model.zoo;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The multilayer perceptron 784-1024-1024-10 with ReLU hidden layers and a softmax output
 * (1,863,690 parameters). Input: flat {@code [batch, 784]} rows.
 */
public final class MnistMlp {
    private MnistMlp() {}

    /** The configuration: He-initialised weights from {@code seed}, Adam with learning rate {@code learningRate}. */
    public static MultiLayerConfiguration configuration(long seed, double learningRate) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Adam(learningRate))
                .weightInit(WeightInit.RELU)
                .list()
                .layer(new DenseLayer.Builder().nOut(1024).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(1024).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build())
                .setInputType(InputType.feedForward(784))
                .build();
    }

    /** An initialised network with Adam(1e-3). */
    public static MultiLayerNetwork network(long seed) {
        return network(seed, 1e-3);
    }

    /** An initialised network. */
    public static MultiLayerNetwork network(long seed, double learningRate) {
        MultiLayerNetwork net = new MultiLayerNetwork(configuration(seed, learningRate));
        net.init();
        return net;
    }
}
