package org.quant4j.model.zoo;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** What the zoo's MNIST networks share: He-initialised ReLU layers, Adam, a Xavier softmax output of 10 classes. */
final class ZooBuilders {
    private ZooBuilders() {}

    /** A layer list seeded with {@code seed}, Adam({@code learningRate}), He (ReLU) initialisation. */
    static NeuralNetConfiguration.ListBuilder reluAdam(long seed, double learningRate) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Adam(learningRate))
                .weightInit(WeightInit.RELU)
                .list();
    }

    /** The softmax cross-entropy output over the ten digits. */
    static OutputLayer digitOutput() {
        return new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build();
    }

    /** An initialised network of {@code conf}. */
    static MultiLayerNetwork initialised(MultiLayerConfiguration conf) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
