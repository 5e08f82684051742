package org.quant4j.qat;

import java.util.Map;
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
 * <p>Tensors, named as {@link Dl4jNetwork} names them ({@code "<layer>/<key>"}, layer = its name or index):
 * <ul>
 * <li>each fake-quantized weight as a {@code QuantizedTensor} in {@code [out, in...]} layout, quantized by
 *     the layer's own {@link WeightQuantizer}, i.e. with exactly the scales its fake quantization uses
 *     (min-max quantizers refit them from the same weight, LSQ stores its learned steps);</li>
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
    static final String ACTIVATION_SUFFIX = "/activation";

    private QatConversion() {}

    static QuantizedModel convert(MultiLayerNetwork net) {
        QatConfig config = null;
        Dl4jNetwork view = Dl4jNetwork.of(net);
        QuantizedModel.Builder model = QuantizedModel.builder();
        for (WeightTarget t : view.targets()) {
            INDArray weight = view.weight(t);
            IWeightNoise noise = ((BaseLayer) net.getLayer(t.layerIndex()).conf().getLayer()).getWeightNoise();
            if (noise instanceof FakeQuantWeightNoise fq && FakeQuantWeightNoise.WEIGHT_KEY.equals(t.paramKey())) {
                config = fq.config();
                model.addQuantized(t.name(), fq.quantizer().quantize(t.name(), weight));
            } else {
                model.addFloat(t.name(), floatTensor(weight));
            }
        }
        for (Map.Entry<String, INDArray> p : view.otherParams().entrySet()) {
            model.addFloat(p.getKey(), floatTensor(p.getValue()));
        }
        for (int i = 0; i < net.getnLayers(); i++) {
            if (net.getLayer(i).conf().getLayer() instanceof BaseLayer layer
                    && layer.getActivationFn() instanceof FakeQuantActivation act) {
                config = act.config();
                AffineGrid g = act.quantizer().grid();
                if (g == null) {
                    throw new QuantizationException(act.layerName() + ": its activation quantizer has seen no training "
                            + "batch yet, so it has no grid to store; train (net.fit) before Qat.convert");
                }
                model.addFloat(layerName(net, i) + ACTIVATION_SUFFIX,
                        new FloatTensor(new long[] {3}, new float[] {g.scale(), g.zero(), g.offset()}));
            }
        }
        if (config == null) {
            throw new QuantizationException("the network holds no QAT fake quantizer: prepare it with Qat.prepare "
                    + "and train it before Qat.convert");
        }
        return model.metadata(CONFIG_KEY, config.toJson()).metadata(METHOD_KEY, "qat").build();
    }

    /** The name {@link Dl4jNetwork} gives layer {@code i}: its configured name, else its index. */
    static String layerName(MultiLayerNetwork net, int i) {
        String name = net.getLayer(i).conf().getLayer().getLayerName();
        return name == null ? String.valueOf(i) : name;
    }

    private static FloatTensor floatTensor(INDArray a) {
        return new FloatTensor(a.shape(), a.castTo(DataType.FLOAT).dup('c').data().asFloat());
    }
}
