package org.quant4j.qat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;

/**
 * Quantization-aware training for ordinary DL4J networks.
 *
 * <pre>{@code
 * MultiLayerNetwork net = ...;                       // trained or fresh
 * Qat.prepare(net, QatConfig.builder()
 *         .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
 *         .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
 *         .build());
 * net.fit(trainIterator, epochs);                    // the ordinary DL4J loop
 * }</pre>
 *
 * {@link #prepare} changes the network ({@link MultiLayerNetwork} or {@link ComputationGraph}) in place: each
 * quantized layer's configuration gets a {@link FakeQuantWeightNoise} (weights; {@link LstmWeightNoise} for an
 * LSTM's {@code W} and {@code RW}, {@link FoldedConvWeightNoise} for a convolution followed by BatchNormalization,
 * folded as PyTorch's QAT {@code ConvBn2d}) and its activation function is wrapped in a
 * {@link FakeQuantActivation} (outputs; an LSTM's output and a folded BN's output are quantized by layer
 * implementations of our own, {@link QuantizedOutputLstm} and {@link QatBatchNormalization}, which also freezes the
 * BN statistics after {@link QatConfig#freezeBnStatsAfter()} iterations). The output layers' activations (softmax)
 * stay in float.
 * With LSQ ({@link WeightGradient#LSQ}, {@link ActivationGradient#LSQ} / {@code LSQ_PLUS}) it also adds a
 * {@link LearnedStepTrainer} listener that trains the steps: add further listeners with
 * {@code net.addListeners}, since {@code net.setListeners} would remove it (training then stops with a message).
 */
public final class Qat {
    /** Layers {@link #prepare} accepts. */
    public static final List<String> SUPPORTED_LAYERS = List.of("DenseLayer", "OutputLayer",
            "ConvolutionLayer (2D, not its Deconvolution/Depthwise/Separable subclasses)",
            "LSTM (input and recurrent weights; not GravesLSTM, whose peephole weights share RW)",
            "BatchNormalization (directly after a ConvolutionLayer with identity activation: folded into it)",
            "SubsamplingLayer (no weights; passes quantized values through)",
            "ActivationLayer (its output is quantized)");

    private Qat() {}

    /**
     * Inserts fake quantization into {@code net} (initialised) as {@code config} says and returns it.
     *
     * @throws UnsupportedLayerException naming the first layer that is not in {@link #SUPPORTED_LAYERS};
     *                                   the network is left unchanged
     * @throws org.quant4j.core.InvalidSpecException if a group size does not divide a layer's input width
     */
    public static MultiLayerNetwork prepare(MultiLayerNetwork net, QatConfig config) {
        QatPreparation.prepare(QatNetwork.of(net), config);
        return net;
    }

    /**
     * {@link #prepare(MultiLayerNetwork, QatConfig)} for a graph (any number of inputs and outputs): layers are
     * indexed as {@code graph.getLayers()} lists them ({@link QatConfig#floatLayers()}), named by their vertex;
     * non-layer vertices (merge, element-wise, last time step, ...) have no weights and stay as they are. Layers whose
     * output is a network output keep a float activation.
     *
     * @throws UnsupportedLayerException naming the first vertex whose layer is not in {@link #SUPPORTED_LAYERS};
     *                                   the graph is left unchanged
     */
    public static ComputationGraph prepare(ComputationGraph graph, QatConfig config) {
        QatPreparation.prepare(QatNetwork.of(graph), config);
        return graph;
    }

    /**
     * The real low-bit model of a prepared, trained network: each fake-quantized weight quantized with the
     * scales its fake quantizer uses, float parameters as they are, the activation grids and the
     * {@link QatConfig} (see {@link QatConversion} for the tensor names). {@link #load} rebuilds the network.
     *
     * @throws QuantizationException if the network was not prepared, or an activation never saw a training batch
     */
    public static QuantizedModel convert(MultiLayerNetwork prepared) {
        return QatConversion.convert(QatNetwork.of(prepared));
    }

    /** {@link #convert(MultiLayerNetwork)} of a prepared, trained graph. */
    public static QuantizedModel convert(ComputationGraph prepared) {
        return QatConversion.convert(QatNetwork.of(prepared));
    }

    /**
     * A network computing what the converted fake-quant network computed: the architecture of
     * {@code architecture} (an fp32 or prepared configuration), the dequantized weights, the stored float
     * parameters and the stored activation grids.
     *
     * @throws QuantizationException if the model was not made by {@link #convert} or does not fit the architecture
     */
    public static MultiLayerNetwork load(QuantizedModel model, MultiLayerConfiguration architecture) {
        return QatLoader.load(model, architecture);
    }

    /** {@link #load(QuantizedModel, MultiLayerConfiguration)} with the configuration of {@code fp32} (not modified). */
    public static MultiLayerNetwork load(QuantizedModel model, MultiLayerNetwork fp32) {
        return QatLoader.load(model, fp32.getLayerWiseConfigurations());
    }

    /** {@link #load(QuantizedModel, MultiLayerConfiguration)} of a model file written by {@code ModelFileWriter}. */
    public static MultiLayerNetwork load(Path modelFile, MultiLayerConfiguration architecture) throws IOException {
        return QatLoader.load(ModelFileReader.read(modelFile), architecture);
    }

    /** {@link #load(QuantizedModel, MultiLayerConfiguration)} for a graph. */
    public static ComputationGraph load(QuantizedModel model, ComputationGraphConfiguration architecture) {
        return QatLoader.load(model, architecture);
    }

    /** {@link #load(QuantizedModel, ComputationGraphConfiguration)} with the configuration of {@code fp32} (not modified). */
    public static ComputationGraph load(QuantizedModel model, ComputationGraph fp32) {
        return QatLoader.load(model, fp32.getConfiguration());
    }

    /** {@link #load(QuantizedModel, ComputationGraphConfiguration)} of a model file written by {@code ModelFileWriter}. */
    public static ComputationGraph load(Path modelFile, ComputationGraphConfiguration architecture) throws IOException {
        return QatLoader.load(ModelFileReader.read(modelFile), architecture);
    }
}
