package org.quant4j.qat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
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
 * on their grids), float tensors are copied bit for bit, each stored activation grid is put back as a
 * {@link FixedActivationQuantizer} around the configuration's own activation function (for an LSTM, around its
 * output), and each folded BatchNormalization becomes an identity {@code ActivationLayer} of the same name, its
 * convolution getting the folded bias.
 */
final class QatLoader {
    private QatLoader() {}

    static MultiLayerNetwork load(QuantizedModel model, MultiLayerConfiguration architecture) {
        QatConfig config = config(model);
        MultiLayerConfiguration conf = architecture.clone();
        List<NeuralNetConfiguration> layers = conf.getConfs();
        Map<String, String> folded = QatConversion.folded(model);
        for (int i = 0; i < layers.size(); i++) {
            NeuralNetConfiguration layer = layers.get(i);
            unwrap(layer);
            String name = layer.getLayer().getLayerName() == null ? String.valueOf(i) : layer.getLayer().getLayerName();
            fold(layer, name, folded, model);
        }
        for (int i = 0; i < layers.size(); i++) {
            String name = layers.get(i).getLayer().getLayerName() == null ? String.valueOf(i)
                    : layers.get(i).getLayer().getLayerName();
            if (folded.containsValue(name)) {
                ((ConvolutionLayer) layers.get(i).getLayer()).setHasBias(true);
            }
        }
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        fill(QatNetwork.of(net), model, config, folded);
        return net;
    }

    static ComputationGraph load(QuantizedModel model, ComputationGraphConfiguration architecture) {
        QatConfig config = config(model);
        ComputationGraphConfiguration conf = architecture.clone();
        Map<String, String> folded = QatConversion.folded(model);
        for (Map.Entry<String, GraphVertex> v : conf.getVertices().entrySet()) {
            if (v.getValue() instanceof LayerVertex lv) {
                unwrap(lv.getLayerConf());
                fold(lv.getLayerConf(), v.getKey(), folded, model);
                if (folded.containsValue(v.getKey())) {
                    ((ConvolutionLayer) lv.getLayerConf().getLayer()).setHasBias(true);
                }
            }
        }
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        fill(QatNetwork.of(graph), model, config, folded);
        return graph;
    }

    private static QatConfig config(QuantizedModel model) {
        String configJson = model.metadata().get(QatConversion.CONFIG_KEY);
        if (configJson == null) {
            throw new QuantizationException("the model has no '" + QatConversion.CONFIG_KEY
                    + "' metadata: it was not written by Qat.convert");
        }
        return QatConfig.fromJson(configJson);
    }

    /** A folded BN becomes an identity activation layer of the same name. */
    private static void fold(NeuralNetConfiguration layer, String name, Map<String, String> folded, QuantizedModel model) {
        if (!folded.containsKey(name)) {
            return;
        }
        if (!(layer.getLayer() instanceof BatchNormalization)) {
            throw new QuantizationException("the model folds BatchNormalization '" + name + "' but the architecture's "
                    + "layer of that name is " + layer.getLayer().getClass().getSimpleName()
                    + "; load it with the architecture it was converted from");
        }
        layer.setLayer(new ActivationLayer.Builder().activation(Activation.IDENTITY).name(name).build());
    }

    private static void fill(QatNetwork net, QuantizedModel model, QatConfig config, Map<String, String> folded) {
        Set<String> used = new HashSet<>();
        Dl4jNetwork view = net.view();
        for (WeightTarget t : view.targets()) {
            view.setWeight(t, tensor(model, t.name(), used));
        }
        for (Map.Entry<String, INDArray> p : view.otherParams().entrySet()) {
            INDArray value = tensor(model, p.getKey(), used);
            if (value.length() != p.getValue().length()
                    || !Arrays.equals(value.shape(), p.getValue().shape()) && !isFoldedBias(p.getKey(), folded)) {
                throw new QuantizationException("tensor '" + p.getKey() + "' has shape " + Arrays.toString(value.shape())
                        + " in the model but " + Arrays.toString(p.getValue().shape()) + " in the network");
            }
            p.getValue().assign(value.reshape(p.getValue().shape()));
        }
        List<Runnable> replacements = new ArrayList<>();
        for (int i = 0; i < net.size(); i++) {
            String name = net.name(i) + QatConversion.ACTIVATION_SUFFIX;
            FloatTensor grid = model.floatTensors().get(name);
            if (grid == null) {
                continue;
            }
            used.add(name);
            FixedActivationQuantizer q = new FixedActivationQuantizer(affine(config.activations(), grid, name));
            org.deeplearning4j.nn.conf.layers.Layer conf = net.conf(i);
            if (conf instanceof LSTM lstm) { // QatArming makes it a QuantizedOutputLstm
                String owner = net.describe(i);
                replacements.add(() -> lstm.setWeightNoise(new LstmWeightNoise(owner, null, null, q)));
            } else if (conf instanceof BaseLayer layer) {
                layer.setActivationFn(new FakeQuantActivation(net.describe(i), layer.getActivationFn(), q, config));
            } else if (conf instanceof ActivationLayer layer) {
                layer.setActivationFn(new FakeQuantActivation(net.describe(i), layer.getActivationFn(), q, config));
            } else {
                throw new QuantizationException("activation grid '" + name + "' belongs to " + net.describe(i)
                        + ", which has no activation to quantize");
            }
        }
        replacements.forEach(Runnable::run);
        QatArming.arm(net);
        Set<String> unused = new HashSet<>(model.quantizedTensors().keySet());
        unused.addAll(model.floatTensors().keySet());
        unused.removeAll(used);
        if (!unused.isEmpty()) {
            throw new QuantizationException("the model holds tensors the network has no place for: " + unused
                    + "; load it with the architecture it was converted from");
        }
    }

    private static boolean isFoldedBias(String key, Map<String, String> folded) {
        return folded.values().stream().anyMatch(conv -> key.equals(conv + "/b"));
    }

    /** Removes fake quantizers, so a prepared network's configuration gives the plain architecture. */
    private static void unwrap(NeuralNetConfiguration layerConf) {
        if (layerConf.getLayer() instanceof BaseLayer layer) {
            if (layer.getActivationFn() instanceof FakeQuantActivation fq) {
                layer.setActivationFn(fq.inner());
            }
            if (layer.getWeightNoise() instanceof FakeQuantWeightNoise || layer.getWeightNoise() instanceof LstmWeightNoise
                    || layer.getWeightNoise() instanceof FoldedConvWeightNoise) {
                layer.setWeightNoise(null);
            }
        }
        if (layerConf.getLayer() instanceof ActivationLayer layer && layer.getActivationFn() instanceof FakeQuantActivation fq) {
            layer.setActivationFn(fq.inner());
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
