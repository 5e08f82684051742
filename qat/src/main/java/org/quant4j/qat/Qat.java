package org.quant4j.qat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
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
 *
 * <p>Checkpoints: {@code ModelSerializer.writeModel} (hence DL4J's {@code CheckpointListener} and early stopping's
 * {@code LocalFileModelSaver}) saves a prepared network with its quantizers' state (observed ranges and histograms,
 * LSQ steps and offsets with their updater state) in the configuration JSON. {@code ModelSerializer.restore...} gives
 * back the configuration, parameters and updater; the layer implementations and the listener are runtime objects
 * that {@link #rearm} (or {@link #restoreMultiLayerNetwork} / {@link #restoreComputationGraph}, or {@link #prepare}
 * with the same config) puts back. {@code net.clone()} shares the quantizers with the original and lacks the layer
 * implementations (DL4J's configuration clone copies neither activation functions nor weight noise): use {@link #copy}.
 */
public final class Qat {
    /** Layers {@link #prepare} accepts. */
    public static final List<String> SUPPORTED_LAYERS = List.of("DenseLayer", "OutputLayer", "RnnOutputLayer",
            "ConvolutionLayer (2D, not its Deconvolution/Depthwise/Separable subclasses)",
            "LSTM (input and recurrent weights; not GravesLSTM, whose peephole weights share RW)",
            "BatchNormalization (directly after a ConvolutionLayer with identity activation: folded into it)",
            "SubsamplingLayer (no weights; passes quantized values through)",
            "ActivationLayer (its output is quantized)");

    private Qat() {}

    /**
     * Inserts fake quantization into {@code net} (initialised) as {@code config} says and returns it. A network that
     * already holds quantizers of the same config (e.g. restored by {@code ModelSerializer}) is only {@link #rearm}ed.
     *
     * @throws org.quant4j.core.InvalidSpecException if the network is already prepared with another config
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

    /**
     * Puts back what a prepared network's configuration does not carry: the QAT layer implementations (folded
     * BatchNormalization, quantized LSTM output) and the {@link LearnedStepTrainer} listener. Needed after
     * {@code ModelSerializer.restoreMultiLayerNetwork} of a prepared network (a {@code CheckpointListener} checkpoint)
     * before it runs or trains; does nothing to a network that has them.
     *
     * @throws QuantizationException if the network holds no QAT quantizer
     */
    public static MultiLayerNetwork rearm(MultiLayerNetwork net) {
        rearm(QatNetwork.of(net));
        return net;
    }

    /** {@link #rearm(MultiLayerNetwork)} for a graph. */
    public static ComputationGraph rearm(ComputationGraph graph) {
        rearm(QatNetwork.of(graph));
        return graph;
    }

    private static void rearm(QatNetwork net) {
        if (!QatArming.isPrepared(net)) {
            throw new QuantizationException("the network holds no QAT quantizer: it was not prepared by Qat.prepare "
                    + "(or was saved before it)");
        }
        QatArming.arm(net);
    }

    /** {@code ModelSerializer.restoreMultiLayerNetwork(file, loadUpdater)} of a prepared network, {@link #rearm}ed. */
    public static MultiLayerNetwork restoreMultiLayerNetwork(File file, boolean loadUpdater) throws IOException {
        return rearm(ModelSerializer.restoreMultiLayerNetwork(file, loadUpdater));
    }

    /** {@code ModelSerializer.restoreComputationGraph(file, loadUpdater)} of a prepared graph, {@link #rearm}ed. */
    public static ComputationGraph restoreComputationGraph(File file, boolean loadUpdater) throws IOException {
        return rearm(ModelSerializer.restoreComputationGraph(file, loadUpdater));
    }

    /**
     * An independent copy of a prepared network (parameters, updater state, quantizer state, layer implementations,
     * listener), through {@code ModelSerializer} in memory; listeners other than QAT's are not copied. Use it where
     * DL4J would {@code clone()} (e.g. instead of early stopping's {@code InMemoryModelSaver}).
     */
    public static MultiLayerNetwork copy(MultiLayerNetwork net) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ModelSerializer.writeModel(net, bytes, true);
            return rearm(ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes.toByteArray()), true));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@link #copy(MultiLayerNetwork)} of a graph. */
    public static ComputationGraph copy(ComputationGraph graph) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ModelSerializer.writeModel(graph, bytes, true);
            return rearm(ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes.toByteArray()), true));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
