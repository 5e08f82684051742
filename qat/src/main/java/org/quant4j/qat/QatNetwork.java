package org.quant4j.qat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.quant4j.model.Dl4jNetwork;

/**
 * The layers of a {@link MultiLayerNetwork} or a {@link ComputationGraph} as QAT sees them: by index (the index of
 * {@code getLayers()}, the one {@link Dl4jNetwork} uses), with the name {@link Dl4jNetwork} gives their tensors, the
 * layers consuming each layer's output, and in-place replacement of a layer's implementation.
 */
final class QatNetwork {
    private final MultiLayerNetwork mln;
    private final ComputationGraph graph;

    private QatNetwork(MultiLayerNetwork mln, ComputationGraph graph) {
        this.mln = mln;
        this.graph = graph;
    }

    static QatNetwork of(MultiLayerNetwork net) {
        return new QatNetwork(net, null);
    }

    static QatNetwork of(ComputationGraph graph) {
        return new QatNetwork(null, graph);
    }

    static QatNetwork of(Model model) {
        if (model instanceof MultiLayerNetwork m) {
            return of(m);
        }
        if (model instanceof ComputationGraph g) {
            return of(g);
        }
        throw new IllegalArgumentException("QAT works on MultiLayerNetwork and ComputationGraph, not " + model.getClass());
    }

    Model model() {
        return mln != null ? mln : graph;
    }

    /** The updater's state view, or null before the first fit created the updater. */
    org.nd4j.linalg.api.ndarray.INDArray updaterState() {
        if (mln != null) {
            return mln.getUpdater(false) == null ? null : mln.getUpdater(false).getStateViewArray();
        }
        return graph.getUpdater(false) == null ? null : graph.getUpdater(false).getStateViewArray();
    }

    Dl4jNetwork view() {
        return mln != null ? Dl4jNetwork.of(mln) : Dl4jNetwork.of(graph);
    }

    int size() {
        return layers().length;
    }

    Layer layer(int i) {
        return layers()[i];
    }

    org.deeplearning4j.nn.conf.layers.Layer conf(int i) {
        return layer(i).conf().getLayer();
    }

    private Layer[] layers() {
        return mln != null ? mln.getLayers() : graph.getLayers();
    }

    /** The name of layer {@code i}'s tensors: its configured name, else its index (vertex name in a graph). */
    String name(int i) {
        String name = conf(i).getLayerName();
        return name == null ? String.valueOf(i) : name;
    }

    /** {@code "layer 3 (ConvolutionLayer 'conv1')"}, or {@code "vertex 'conv1' (ConvolutionLayer)"} in a graph. */
    String describe(int i) {
        String type = conf(i).getClass().getSimpleName();
        if (graph != null) {
            return "vertex '" + name(i) + "' (" + type + ")";
        }
        String name = conf(i).getLayerName();
        return "layer " + i + " (" + type + (name == null || name.isBlank() ? "" : " '" + name + "'") + ")";
    }

    /** True if the layer's output is a network output (its activation stays in float). */
    boolean isOutput(int i) {
        return mln != null ? i == size() - 1 : graph.getConfiguration().getNetworkOutputs().contains(name(i));
    }

    /**
     * The index of the only layer consuming layer {@code i}'s output directly, or -1 if the output goes elsewhere
     * too (several consumers, a non-layer vertex, a network output).
     */
    int soleLayerConsumer(int i) {
        if (mln != null) {
            return i + 1 < size() ? i + 1 : -1;
        }
        if (isOutput(i)) {
            return -1;
        }
        List<String> consumers = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : graph.getConfiguration().getVertexInputs().entrySet()) {
            consumers.addAll(e.getValue().stream().filter(name(i)::equals).map(x -> e.getKey()).toList());
        }
        if (consumers.size() != 1 || !(graph.getVertex(consumers.get(0)) instanceof LayerVertex v) || !v.hasLayer()) {
            return -1;
        }
        Layer target = v.getLayer();
        for (int j = 0; j < size(); j++) {
            if (layer(j) == target) {
                return j;
            }
        }
        return -1;
    }

    /** The key DL4J gives parameter {@code key} of layer {@code i} in the network's {@code Gradient}. */
    String gradientKey(int i, String key) {
        return (mln != null ? String.valueOf(i) : name(i)) + "_" + key;
    }

    int iterationCount() {
        return mln != null ? mln.getIterationCount() : graph.getIterationCount();
    }

    int epochCount() {
        return mln != null ? mln.getEpochCount() : graph.getEpochCount();
    }

    void addListener(TrainingListener listener) {
        if (mln != null) {
            mln.addListeners(listener);
        } else {
            graph.addListeners(listener);
        }
    }

    /**
     * The name-to-layer map behind {@link MultiLayerNetwork#getLayer(String)}: {@code setLayers} in DL4J 1.0.0-M2.1
     * does not update it and it has no setter, so it is reached by reflection (a protected field of the public
     * class, open to reflection on the class path).
     */
    @SuppressWarnings("unchecked")
    private static Map<String, Layer> layerMap(MultiLayerNetwork net) {
        try {
            java.lang.reflect.Field field = MultiLayerNetwork.class.getDeclaredField("layerMap");
            field.setAccessible(true);
            return (Map<String, Layer>) field.get(net);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot update MultiLayerNetwork's layer name map (DL4J version?)", e);
        }
    }

    /**
     * Puts {@code replacement} (an implementation of the same configuration) in place of layer {@code i}: it takes
     * over the layer's parameter and gradient views, listeners, index and counters, so training and the updater go
     * on unchanged.
     */
    void replace(int i, Layer replacement) {
        Layer old = layer(i);
        replacement.setParamsViewArray(old.params());
        replacement.setParamTable(old.paramTable());
        if (old.getGradientsViewArray() != null) {
            replacement.setBackpropGradientsViewArray(old.getGradientsViewArray());
        }
        replacement.setListeners(old.getListeners());
        replacement.setIndex(old.getIndex());
        replacement.setIterationCount(old.getIterationCount());
        replacement.setEpochCount(old.getEpochCount());
        if (mln != null) {
            Layer[] layers = mln.getLayers().clone();
            layers[i] = replacement;
            mln.setLayers(layers);
            layerMap(mln).put(old.conf().getLayer().getLayerName(), replacement);
            org.deeplearning4j.nn.api.Updater updater = mln.getUpdater(false);
            if (updater != null) { // rebuilt on the new layer, over the same state (e.g. Adam's moments)
                mln.setUpdater(new MultiLayerUpdater(mln, updater.getStateViewArray()));
            }
        } else {
            GraphVertex vertex = graph.getVertex(name(i));
            ((LayerVertex) vertex).setLayer(replacement);
            graph.getLayers()[i] = replacement;
            ComputationGraphUpdater updater = graph.getUpdater(false);
            if (updater != null) {
                graph.setUpdater(new ComputationGraphUpdater(graph, updater.getStateViewArray()));
            }
        }
    }
}
