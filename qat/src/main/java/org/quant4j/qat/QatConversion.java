package org.quant4j.qat;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.WeightTarget;

/**
 * {@link Qat#convert}: a prepared (and trained) network to a {@link QuantizedModel}.
 *
 * <p>Tensors, named as {@link Dl4jNetwork} names them ({@code "<layer>/<key>"}, layer = its name or index; in a
 * graph the vertex name):
 * <ul>
 * <li>each fake-quantized weight (Dense, Output, Convolution {@code W}, LSTM {@code W} and {@code RW}) as a
 *     {@code QuantizedTensor} in {@code [out, in...]} layout, quantized by the layer's own {@link WeightQuantizer},
 *     i.e. with exactly the scales its fake quantization uses (min-max quantizers refit them from the same weight,
 *     LSQ stores its learned steps);</li>
 * <li>a convolution with a folded BatchNormalization ({@link BnFold}): the weight {@code W·s} quantized on the grid
 *     the training forward pass used, the bias {@code β + (b − μ)·s}, and no tensors of the BN layer (metadata
 *     {@value #FOLDED_KEY} lists {@code bn=conv} pairs; {@link Qat#load} replaces each BN by an identity);</li>
 * <li>float weights ({@link QatConfig#floatLayers()}) in the same layout, and biases and other parameters as
 *     DL4J stores them, as {@code FloatTensor}s;</li>
 * <li>for each quantized activation, {@code "<layer>/activation"}: the float triple
 *     {@code [scale, zero point, offset]} of its grid ({@link AffineGrid}).</li>
 * </ul>
 * Metadata: {@value #CONFIG_KEY} holds the {@link QatConfig} JSON (the activation spec gives the grid's bits).
 */
final class QatConversion {
    static final String CONFIG_KEY = "qat.config";
    static final String METHOD_KEY = "method";
    static final String FOLDED_KEY = "qat.folded";
    static final String ACTIVATION_SUFFIX = "/activation";

    private QatConversion() {}

    static QuantizedModel convert(QatNetwork net) {
        QatArming.requireArmed(net, "Qat.convert");
        QatConfig config = null;
        Dl4jNetwork view = net.view();
        QuantizedModel.Builder model = QuantizedModel.builder();
        Map<String, BnFold> folds = new LinkedHashMap<>(); // conv name -> fold
        Map<String, String> foldedBn = new LinkedHashMap<>(); // bn name -> conv name
        for (int i = 0; i < net.size(); i++) {
            if (net.conf(i) instanceof BaseLayer b && b.getWeightNoise() instanceof FoldedConvWeightNoise f) {
                folds.put(net.name(i), f.fold());
                foldedBn.put(f.bnName(), net.name(i));
            }
        }
        for (WeightTarget t : view.targets()) {
            INDArray weight = view.weight(t);
            IWeightNoise noise = ((BaseLayer) net.conf(t.layerIndex())).getWeightNoise();
            FakeQuantWeightNoise fq = null;
            if (noise instanceof FakeQuantWeightNoise f && FakeQuantWeightNoise.WEIGHT_KEY.equals(t.paramKey())) {
                fq = f;
            } else if (noise instanceof LstmWeightNoise l) {
                fq = l.forKey(t.paramKey());
            } else if (noise instanceof FoldedConvWeightNoise f && FakeQuantWeightNoise.WEIGHT_KEY.equals(t.paramKey())) {
                fq = f.inner();
                weight = f.scaledWeight(weight.reshape('c', weight.size(0), weight.length() / weight.size(0)))
                        .reshape('c', weight.shape());
            }
            if (fq != null) {
                config = fq.config();
                model.addQuantized(t.name(), fq.quantizer().quantize(t.name(), weight));
            } else {
                model.addFloat(t.name(), floatTensor(weight));
            }
        }
        Map<String, INDArray> others = view.otherParams();
        for (Map.Entry<String, INDArray> p : others.entrySet()) {
            String layer = p.getKey().substring(0, p.getKey().lastIndexOf('/'));
            if (foldedBn.containsKey(layer)) {
                continue;
            }
            BnFold fold = folds.get(layer);
            if (fold != null && p.getKey().equals(layer + "/b")) {
                float[] b = fold.foldedBias(p.getValue().castTo(DataType.FLOAT).toFloatVector());
                model.addFloat(p.getKey(), new FloatTensor(new long[] {b.length}, b));
            } else {
                model.addFloat(p.getKey(), floatTensor(p.getValue()));
            }
        }
        for (Map.Entry<String, BnFold> f : folds.entrySet()) {
            if (!others.containsKey(f.getKey() + "/b")) {
                float[] b = f.getValue().foldedBias(null);
                model.addFloat(f.getKey() + "/b", new FloatTensor(new long[] {b.length}, b));
            }
        }
        for (int i = 0; i < net.size(); i++) {
            ActivationQuantizer q = activationQuantizer(net.layer(i));
            if (q == null) {
                continue;
            }
            AffineGrid g = q.grid();
            if (g == null) {
                throw new QuantizationException(net.describe(i) + ": its activation quantizer has seen no training "
                        + "batch yet, so it has no grid to store; train (net.fit) before Qat.convert");
            }
            if (net.conf(i) instanceof BaseLayer b && b.getActivationFn() instanceof FakeQuantActivation act) {
                config = act.config();
            }
            model.addFloat(net.name(i) + ACTIVATION_SUFFIX,
                    new FloatTensor(new long[] {3}, new float[] {g.scale(), g.zero(), g.offset()}));
        }
        if (config == null) {
            throw new QuantizationException("the network holds no QAT fake quantizer: prepare it with Qat.prepare "
                    + "and train it before Qat.convert");
        }
        if (!foldedBn.isEmpty()) {
            model.metadata(FOLDED_KEY, foldedBn.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(",")));
        }
        return model.metadata(CONFIG_KEY, config.toJson()).metadata(METHOD_KEY, "qat").build();
    }

    /** The fake quantizer of a layer's output, or null. */
    static ActivationQuantizer activationQuantizer(Layer layer) {
        org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
        if (layer instanceof QuantizedOutputLstm l) {
            return l.output().quantizer();
        }
        if (layer instanceof QatBatchNormalization bn) {
            return bn.output() == null ? null : bn.output().quantizer();
        }
        if (conf instanceof BaseLayer b && b.getActivationFn() instanceof FakeQuantActivation act) {
            return act.quantizer();
        }
        if (conf instanceof ActivationLayer a && a.getActivationFn() instanceof FakeQuantActivation act) {
            return act.quantizer();
        }
        return null;
    }

    /** {@code bn=conv} pairs of the {@value #FOLDED_KEY} metadata. */
    static Map<String, String> folded(QuantizedModel model) {
        Map<String, String> out = new HashMap<>();
        String v = model.metadata().get(FOLDED_KEY);
        if (v != null && !v.isBlank()) {
            for (String pair : v.split(",")) {
                String[] kv = pair.split("=", 2);
                if (kv.length != 2) {
                    throw new QuantizationException("metadata '" + FOLDED_KEY + "' entry '" + pair + "' is not bn=conv");
                }
                out.put(kv[0], kv[1]);
            }
        }
        return out;
    }

    /** The name {@link Dl4jNetwork} gives layer {@code i}: its configured name, else its index. */
    static String layerName(MultiLayerNetwork net, int i) {
        return QatNetwork.of(net).name(i);
    }

    private static FloatTensor floatTensor(INDArray a) {
        return new FloatTensor(a.shape(), a.castTo(DataType.FLOAT).dup('c').data().asFloat());
    }
}
