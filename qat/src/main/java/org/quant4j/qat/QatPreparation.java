package org.quant4j.qat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.formats.IntGrid;

/**
 * {@link Qat#prepare}: validates every layer first, then changes the layer configurations (so a refusal leaves the
 * network unchanged), then {@link QatArming} adds the layer implementations and listener. A network that already holds
 * quantizers of the same config (a restored checkpoint) is only re-armed.
 */
final class QatPreparation {
    private final QatNetwork net;
    private final QatConfig config;
    private final List<Runnable> changes = new ArrayList<>();

    private QatPreparation(QatNetwork net, QatConfig config) {
        this.net = net;
        this.config = config;
    }

    static void prepare(QatNetwork net, QatConfig config) {
        new QatPreparation(net, config).run();
    }

    private void run() {
        QatConfig existing = QatArming.config(net);
        if (existing != null) {
            if (!existing.equals(config)) {
                throw new InvalidSpecException("the network is already prepared for QAT with " + existing
                        + "; Qat.prepare with the same config only re-arms it (e.g. after ModelSerializer restored it), "
                        + "a different config needs the float network");
            }
            QatArming.arm(net);
            return;
        }
        int n = net.size();
        int maxFloat = config.floatLayers().stream().mapToInt(Integer::intValue).max().orElse(-1);
        if (maxFloat >= n) {
            throw new InvalidSpecException("float layer index " + maxFloat + " is beyond the network's " + n
                    + " layers (0.." + (n - 1) + ")");
        }
        Map<Integer, Integer> bnOfConv = new HashMap<>();
        Map<Integer, Integer> convOfBn = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            int j = net.conf(i).getClass() == ConvolutionLayer.class ? net.soleLayerConsumer(i) : -1;
            if (j >= 0 && net.conf(j).getClass() == BatchNormalization.class) {
                convOfBn.put(j, i);
                if (quantizesWeights(i)) {
                    ConvolutionLayer conv = (ConvolutionLayer) net.conf(i);
                    if (!(conv.getActivationFn() instanceof ActivationIdentity)) {
                        throw new UnsupportedLayerException(net.describe(j) + " follows " + net.describe(i)
                                + " whose activation is " + conv.getActivationFn() + ", not identity: QAT folds "
                                + "BatchNormalization into the convolution before it, which needs conv -> BN directly");
                    }
                    bnOfConv.put(i, j);
                }
            }
        }
        for (int i = 0; i < n; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.conf(i);
            Class<?> c = conf.getClass();
            if (c == SubsamplingLayer.class) {
                continue;
            }
            if (c == BatchNormalization.class && convOfBn.containsKey(i)) {
                continue; // folded: prepared with its convolution, kept in float if that is
            }
            if (c == ActivationLayer.class) {
                if (quantizesActivation(i)) {
                    ActivationLayer layer = (ActivationLayer) conf;
                    FakeQuantActivation act = new FakeQuantActivation(net.describe(i), layer.getActivationFn(),
                            activationQuantizer(net.describe(i)), config);
                    changes.add(() -> layer.setActivationFn(act));
                }
                continue;
            }
            WeightLayout layout = layoutOf(conf);
            if (layout == null) {
                throw new UnsupportedLayerException(net.describe(i) + " is not supported by QAT; supported layers: "
                        + String.join(", ", Qat.SUPPORTED_LAYERS) + ". Keep it out of the network or convert it first");
            }
            if (config.floatLayers().contains(i)) {
                continue;
            }
            if (c == LSTM.class) {
                prepareLstm(i);
            } else {
                prepareWeight(i, layout, bnOfConv.containsKey(i) ? bnOfConv.get(i) : -1);
            }
        }
        changes.forEach(Runnable::run);
        QatArming.arm(net);
    }

    private boolean quantizesWeights(int i) {
        return config.weights() != null && !config.floatLayers().contains(i);
    }

    private boolean quantizesActivation(int i) {
        return config.activations() != null && !config.floatLayers().contains(i) && !net.isOutput(i);
    }

    private static WeightLayout layoutOf(org.deeplearning4j.nn.conf.layers.Layer conf) {
        Class<?> c = conf.getClass();
        if (c == DenseLayer.class || c == OutputLayer.class || c == RnnOutputLayer.class || c == LSTM.class) {
            return WeightLayout.DENSE;
        }
        if (c == ConvolutionLayer.class) {
            return WeightLayout.CONVOLUTION;
        }
        return null;
    }

    private FakeQuantWeightNoise weightNoise(int i, String key, WeightLayout layout) {
        QuantSpec w = config.weights();
        String name = net.describe(i) + (FakeQuantWeightNoise.WEIGHT_KEY.equals(key) ? "" : " " + key);
        layout.checkGranularity(name, net.layer(i).getParam(key).shape(), w.granularity());
        WeightQuantizer quantizer = config.weightGradient() == WeightGradient.LSQ
                ? new LsqWeightQuantizer(name, w) : WeightQuantizers.of(name, w, config.ternaryScale());
        return new FakeQuantWeightNoise(name, layout, w, config, quantizer);
    }

    private void prepareWeight(int i, WeightLayout layout, int bn) {
        BaseLayer layer = (BaseLayer) net.conf(i);
        if (config.weights() != null) {
            FakeQuantWeightNoise noise = weightNoise(i, FakeQuantWeightNoise.WEIGHT_KEY, layout);
            if (bn < 0) {
                changes.add(() -> layer.setWeightNoise(noise));
            } else { // the BN's output quantizer, if no activation layer follows to quantize it
                int next = net.soleLayerConsumer(bn);
                boolean activationFollows = next >= 0 && net.conf(next).getClass() == ActivationLayer.class;
                ActivationQuantizer output = quantizesActivation(bn) && !activationFollows
                        ? activationQuantizer(net.describe(bn)) : null;
                FoldedConvWeightNoise folded = new FoldedConvWeightNoise(noise, net.name(bn), output);
                changes.add(() -> layer.setWeightNoise(folded));
            }
        }
        if (bn < 0 && quantizesActivation(i)) {
            FakeQuantActivation act = new FakeQuantActivation(net.describe(i), layer.getActivationFn(),
                    activationQuantizer(net.describe(i)), config);
            changes.add(() -> layer.setActivationFn(act));
        }
    }

    /** An LSTM's weights and output quantizers, all in its {@link LstmWeightNoise}; the output by {@link QuantizedOutputLstm}. */
    private void prepareLstm(int i) {
        BaseLayer layer = (BaseLayer) net.conf(i);
        boolean weights = config.weights() != null;
        FakeQuantWeightNoise input = weights ? weightNoise(i, FakeQuantWeightNoise.WEIGHT_KEY, WeightLayout.DENSE) : null;
        FakeQuantWeightNoise recurrent = weights ? weightNoise(i, LstmWeightNoise.RECURRENT_KEY, WeightLayout.DENSE) : null;
        ActivationQuantizer output = quantizesActivation(i) ? activationQuantizer(net.describe(i)) : null;
        if (weights || output != null) {
            LstmWeightNoise noise = new LstmWeightNoise(net.describe(i), input, recurrent, output);
            changes.add(() -> layer.setWeightNoise(noise));
        }
    }

    private ActivationQuantizer activationQuantizer(String name) {
        QuantSpec a = config.activations();
        ActivationGradient g = config.activationGradient();
        if (g == ActivationGradient.LSQ || g == ActivationGradient.LSQ_PLUS) {
            return new LsqActivationQuantizer(name, a, g == ActivationGradient.LSQ_PLUS);
        }
        return new ObservedActivationQuantizer(IntGrid.of(a), config.observer().create(config), g);
    }
}
