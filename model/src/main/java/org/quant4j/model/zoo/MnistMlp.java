package org.quant4j.model.zoo;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;

/**
 * The multilayer perceptron 784-1024-1024-10 with ReLU hidden layers and a softmax output
 * (1,863,690 parameters). Input: flat {@code [batch, 784]} rows.
 */
public final class MnistMlp {
    private MnistMlp() {}

    /** The configuration: He-initialised weights from {@code seed}, Adam with learning rate {@code learningRate}. */
    public static MultiLayerConfiguration configuration(long seed, double learningRate) {
        return ZooBuilders.reluAdam(seed, learningRate)
                .layer(new DenseLayer.Builder().nOut(1024).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(1024).activation(Activation.RELU).build())
                .layer(ZooBuilders.digitOutput())
                .setInputType(InputType.feedForward(784))
                .build();
    }

    /** An initialised network with Adam(1e-3). */
    public static MultiLayerNetwork network(long seed) {
        return network(seed, 1e-3);
    }

    /** An initialised network. */
    public static MultiLayerNetwork network(long seed, double learningRate) {
        return ZooBuilders.initialised(configuration(seed, learningRate));
    }
}
