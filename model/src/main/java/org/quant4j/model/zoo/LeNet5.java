package org.quant4j.model.zoo;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;

/**
 * A LeNet-5 style CNN for 28×28 digits (LeCun et al. 1998, "Gradient-based learning applied to
 * document recognition", sec. II.B), in its common modern variant: ReLU instead of scaled tanh,
 * max pooling instead of trainable average subsampling, a full C3 connection table and a softmax
 * output instead of RBF units. The 28×28 input is padded by 2 so C1 sees the paper's 32×32 field:
 *
 * <pre>
 * conv 5×5×6 (pad 2) ReLU → maxpool 2 → conv 5×5×16 ReLU → maxpool 2 → dense 120 ReLU → dense 84 ReLU → softmax 10
 * </pre>
 * Input: flat {@code [batch, 784]} rows (as {@link org.quant4j.model.data.MnistSplit} gives them),
 * reshaped by DL4J through {@code InputType.convolutionalFlat(28, 28, 1)}. 61,706 parameters.
 */
public final class LeNet5 {
    private LeNet5() {}

    /** The configuration: He-initialised weights from {@code seed}, Adam with learning rate {@code learningRate}. */
    public static MultiLayerConfiguration configuration(long seed, double learningRate) {
        return ZooBuilders.reluAdam(seed, learningRate)
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(6).padding(2, 2)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(16).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(120).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(84).activation(Activation.RELU).build())
                .layer(ZooBuilders.digitOutput())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
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
