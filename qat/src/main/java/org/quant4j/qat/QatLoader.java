package org.quant4j.qat;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.WeightTarget;

/**
 * {@link Qat#load}: the network a {@link QatConversion} model describes, on the architecture of a
 * configuration. Weights are the dequantized codes (so no weight fake quantizer is needed: they already lie
 * on their grids), float tensors are copied bit for bit, and each stored activation grid is put back as a
 * {@link FixedActivationQuantizer} around the configuration's own activation function.
 */
final class QatLoader {
    private QatLoader() {}

    static MultiLayerNetwork load(QuantizedModel model, MultiLayerConfiguration architecture) {
        String configJson = model.metadata().get(QatConversion.CONFIG_KEY);
        if (configJson == null) {
            throw new QuantizationException("the model has no '" + QatConversion.CONFIG_KEY
                    + "' metadata: it was not written by Qat.convert");
        }
        QatConfig config = QatConfig.fromJson(configJson);
        MultiLayerConfiguration conf = architecture.clone();
        for (NeuralNetConfiguration layer : conf.getConfs()) {
            unwrap(layer);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Set<String> used = new HashSet<>();
        Dl4jNetwork view = Dl4jNetwork.of(net);
        for (WeightTarget t : view.targets()) {
            view.setWeight(t, tensor(model, t.name(), used));
        }
        for (Map.Entry<String, INDArray> p : view.otherParams().entrySet()) {
            INDArray value = tensor(model, p.getKey(), used);
            if (!Arrays.equals(value.shape(), p.getValue().shape())) {
                throw new QuantizationException("tensor '" + p.getKey() + "' has shape " + Arrays.toString(value.shape())
                        + " in the model but " + Arrays.toString(p.getValue().shape()) + " in the network");
            }
            p.getValue().assign(value);
        }
        for (int i = 0; i < net.getnLayers(); i++) {
            String name = QatConversion.layerName(net, i) + QatConversion.ACTIVATION_SUFFIX;
            FloatTensor grid = model.floatTensors().get(name);
            if (grid != null && net.getLayer(i).conf().getLayer() instanceof BaseLayer layer) {
                used.add(name);
                layer.setActivationFn(new FakeQuantActivation(QatConversion.layerName(net, i), layer.getActivationFn(),
                        new FixedActivationQuantizer(affine(config.activations(), grid, name)), config));
            }
        }
        Set<String> unused = new HashSet<>(model.quantizedTensors().keySet());
        unused.addAll(model.floatTensors().keySet());
        unused.removeAll(used);
        if (!unused.isEmpty()) {
            throw new QuantizationException("the model holds tensors the network has no place for: " + unused
                    + "; load it with the architecture it was converted from");
        }
        return net;
    }

    /** Removes fake quantizers, so a prepared network's configuration gives the plain architecture. */
    private static void unwrap(NeuralNetConfiguration layerConf) {
        if (layerConf.getLayer() instanceof BaseLayer layer) {
            if (layer.getActivationFn() instanceof FakeQuantActivation fq) {
                layer.setActivationFn(fq.inner());
            }
            if (layer.getWeightNoise() instanceof FakeQuantWeightNoise) {
                layer.setWeightNoise(null);
            }
        }
    }

    private static INDArray tensor(QuantizedModel model, String name, Set<String> used) {
        QuantizedTensor q = model.quantizedTensors().get(name);
        FloatTensor f = model.floatTensors().get(name);
        if (q == null && f == null) {
            throw new QuantizationException("the model has no tensor '" + name + "' for the network's parameter of that "
                    + "name; load it with the architecture it was converted from");
        }
        used.add(name);
        return q != null ? q.dequantize() : Nd4j.create(f.data(), f.shape(), 'c');
    }

    private static AffineGrid affine(QuantSpec spec, FloatTensor t, String name) {
        float[] v = t.data();
        if (spec == null || v.length != 3 || !(v[0] > 0f) || !Float.isFinite(v[0]) || !Float.isFinite(v[1])
                || !Float.isFinite(v[2])) {
            throw new QuantizationException("activation grid '" + name + "' is " + Arrays.toString(v)
                    + (spec == null ? " but the QAT config has no activation spec" : "; expected [scale > 0, zero, offset]"));
        }
        return new AffineGrid(IntGrid.of(spec), v[0], v[1], v[2]);
    }
}
