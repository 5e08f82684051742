package org.quant4j.qat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.formats.IntGrid;

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
 * {@link #prepare} changes the network in place: each quantized layer's configuration gets a
 * {@link FakeQuantWeightNoise} (weights) and its activation function is wrapped in a
 * {@link FakeQuantActivation} (outputs). The output layer's activation (softmax) stays in float.
 * With LSQ ({@link WeightGradient#LSQ}, {@link ActivationGradient#LSQ} / {@code LSQ_PLUS}) it also adds a
 * {@link LearnedStepTrainer} listener that trains the steps: add further listeners with
 * {@code net.addListeners}, since {@code net.setListeners} would remove it (training then stops with a message).
 */
public final class Qat {
    /** Layers {@link #prepare} accepts. */
    public static final List<String> SUPPORTED_LAYERS = List.of("DenseLayer", "OutputLayer",
            "ConvolutionLayer (2D, not its Deconvolution/Depthwise/Separable subclasses)",
            "SubsamplingLayer (no weights; passes quantized values through)");

    private Qat() {}

    /**
     * Inserts fake quantization into {@code net} (initialised) as {@code config} says and returns it.
     *
     * @throws UnsupportedLayerException naming the first layer that is not in {@link #SUPPORTED_LAYERS};
     *                                   the network is left unchanged
     * @throws org.quant4j.core.InvalidSpecException if a group size does not divide a layer's input width
     */
    public static MultiLayerNetwork prepare(MultiLayerNetwork net, QatConfig config) {
        int n = net.getnLayers();
        List<Runnable> changes = new ArrayList<>();
        List<LearnedStepTrainer.Weight> lsqWeights = new ArrayList<>();
        List<LsqActivationQuantizer> lsqActivations = new ArrayList<>();
        int updaterLayer = -1;
        for (int i = 0; i < n; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(i).conf().getLayer();
            String name = describe(i, conf);
            if (conf instanceof SubsamplingLayer && conf.getClass() == SubsamplingLayer.class) {
                continue;
            }
            WeightLayout layout = layoutOf(conf);
            if (layout == null) {
                throw new UnsupportedLayerException(name + " is not supported by QAT; supported layers: "
                        + String.join(", ", SUPPORTED_LAYERS) + ". Keep it out of the network or convert it first");
            }
            if (config.floatLayers().contains(i)) {
                continue;
            }
            BaseLayer layer = (BaseLayer) conf;
            QuantSpec w = config.weights();
            if (w != null) {
                long[] shape = net.getLayer(i).getParam(FakeQuantWeightNoise.WEIGHT_KEY).shape();
                layout.checkGranularity(name, shape, w.granularity());
                WeightQuantizer quantizer = config.weightGradient() == WeightGradient.LSQ
                        ? new LsqWeightQuantizer(name, w) : WeightQuantizers.of(name, w);
                if (quantizer instanceof LsqWeightQuantizer lsq) {
                    lsqWeights.add(new LearnedStepTrainer.Weight(i, layout, lsq));
                }
                updaterLayer = updaterLayer < 0 ? i : updaterLayer;
                FakeQuantWeightNoise noise = new FakeQuantWeightNoise(name, layout, w, config, quantizer);
                changes.add(() -> layer.setWeightNoise(noise));
            }
            QuantSpec a = config.activations();
            if (a != null && i < n - 1) {
                ActivationGradient g = config.activationGradient();
                ActivationQuantizer quantizer;
                if (g == ActivationGradient.LSQ || g == ActivationGradient.LSQ_PLUS) {
                    LsqActivationQuantizer lsq = new LsqActivationQuantizer(name, a, g == ActivationGradient.LSQ_PLUS);
                    lsqActivations.add(lsq);
                    quantizer = lsq;
                } else {
                    quantizer = new ObservedActivationQuantizer(IntGrid.of(a), config.observer().create(config), g);
                }
                updaterLayer = updaterLayer < 0 ? i : updaterLayer;
                FakeQuantActivation act = new FakeQuantActivation(name, layer.getActivationFn(), quantizer, config);
                changes.add(() -> layer.setActivationFn(act));
            }
        }
        int maxFloat = config.floatLayers().stream().mapToInt(Integer::intValue).max().orElse(-1);
        if (maxFloat >= n) {
            throw new org.quant4j.core.InvalidSpecException("float layer index " + maxFloat + " is beyond the network's "
                    + n + " layers (0.." + (n - 1) + ")");
        }
        changes.forEach(Runnable::run);
        if (!lsqWeights.isEmpty() || !lsqActivations.isEmpty()) {
            net.addListeners(new LearnedStepTrainer(lsqWeights, lsqActivations, updaterLayer));
        }
        return net;
    }

    /**
     * The real low-bit model of a prepared, trained network: each fake-quantized weight quantized with the
     * scales its fake quantizer uses, float parameters as they are, the activation grids and the
     * {@link QatConfig} (see {@link QatConversion} for the tensor names). {@link #load} rebuilds the network.
     *
     * @throws QuantizationException if the network was not prepared, or an activation never saw a training batch
     */
    public static QuantizedModel convert(MultiLayerNetwork prepared) {
        return QatConversion.convert(prepared);
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

    private static WeightLayout layoutOf(org.deeplearning4j.nn.conf.layers.Layer conf) {
        Class<?> c = conf.getClass();
        if (c == DenseLayer.class || c == OutputLayer.class) {
            return WeightLayout.DENSE;
        }
        if (c == ConvolutionLayer.class) {
            return WeightLayout.CONVOLUTION;
        }
        return null;
    }

    private static String describe(int index, org.deeplearning4j.nn.conf.layers.Layer conf) {
        String name = conf.getLayerName();
        return "layer " + index + " (" + conf.getClass().getSimpleName()
                + (name == null || name.isBlank() ? "" : " '" + name + "'") + ")";
    }
}
