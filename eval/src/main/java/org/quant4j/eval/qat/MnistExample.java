package org.quant4j.eval.qat;

import java.util.Arrays;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.quant4j.model.zoo.LeNet5;
import org.quant4j.model.zoo.MnistMlp;

/** The networks the QAT example trains on MNIST, by their command-line names. */
public enum MnistExample {
    LENET("mnist-lenet", "LeNet-5"),
    MLP("mnist-mlp", "MLP 784-1024-1024-10");

    private final String cliName;
    private final String title;

    MnistExample(String cliName, String title) {
        this.cliName = cliName;
        this.title = title;
    }

    /** The name of {@code --example}, e.g. {@code mnist-lenet}. */
    public String cliName() {
        return cliName;
    }

    /** The network's name in tables, e.g. {@code LeNet-5}. */
    public String title() {
        return title;
    }

    /** A fresh initialised network with Adam at {@code learningRate}. */
    public MultiLayerNetwork network(long seed, double learningRate) {
        return this == LENET ? LeNet5.network(seed, learningRate) : MnistMlp.network(seed, learningRate);
    }

    /** The example called {@code name}, or null. */
    public static MnistExample byCliName(String name) {
        return Arrays.stream(values()).filter(e -> e.cliName.equals(name)).findFirst().orElse(null);
    }

    /** The command-line names, comma separated. */
    public static String cliNames() {
        return String.join(", ", Arrays.stream(values()).map(MnistExample::cliName).toList());
    }
}
