package org.quant4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantizationException;

/**
 * A uniform view of the quantizable weights of a DL4J {@link MultiLayerNetwork} or {@link ComputationGraph}:
 * lists them as {@link WeightTarget}s and reads / writes each one in quant4j's {@code [out, in...]} layout
 * (one row per output channel), whatever DL4J's own layout is.
 */
public final class Dl4jNetwork {
    /** Layer configurations whose weights are quantization targets, and their weight keys. */
    private static final Map<String, List<String>> SUPPORTED = Map.of(
            "DenseLayer", List.of("W"),
            "OutputLayer", List.of("W"),
            "RnnOutputLayer", List.of("W"),
            "ConvolutionLayer", List.of("W"),
            "LSTM", List.of("W", "RW"));
    private static final Set<String> CONV = Set.of("ConvolutionLayer");

    private final Layer[] layers;
    /** Indices into {@link #layers} in execution order. */
    private final int[] order;
    private final List<WeightTarget> targets = new ArrayList<>();

    private Dl4jNetwork(Layer[] layers, int[] order) {
        this.layers = layers;
        this.order = order;
        for (int i : order) {
            org.deeplearning4j.nn.conf.layers.Layer conf = layers[i].conf().getLayer();
            String type = conf.getClass().getSimpleName();
            List<String> keys = SUPPORTED.get(type);
            if (keys == null || !(conf instanceof BaseLayer)) {
                continue;
            }
            String layerName = conf.getLayerName() == null ? String.valueOf(i) : conf.getLayerName();
            for (String key : keys) {
                WeightTarget.Layout layout = CONV.contains(type) ? WeightTarget.Layout.OUT_IN : WeightTarget.Layout.IN_OUT;
                targets.add(new WeightTarget(layerName + "/" + key, i, layerName, key, type, layout));
            }
        }
    }

    public static Dl4jNetwork of(MultiLayerNetwork net) {
        Layer[] layers = net.getLayers();
        return new Dl4jNetwork(layers, IntStream.range(0, layers.length).toArray());
    }

    /**
     * A graph's targets are listed in topological order. {@code graph.getLayers()} follows the order the vertices
     * were added to the builder, which need not be the order they execute in; a target's
     * {@link WeightTarget#layerIndex()} stays its index in {@code getLayers()}.
     */
    public static Dl4jNetwork of(ComputationGraph graph) {
        Layer[] layers = graph.getLayers();
        Map<Layer, Integer> index = new IdentityHashMap<>();
        for (int i = 0; i < layers.length; i++) {
            index.put(layers[i], i);
        }
        GraphVertex[] vertices = graph.getVertices();
        int[] order = Arrays.stream(graph.topologicalSortOrder())
                .filter(v -> vertices[v].hasLayer())
                .map(v -> index.get(vertices[v].getLayer()))
                .toArray();
        return new Dl4jNetwork(layers, order);
    }

    /** The layer types whose weights are targets. */
    public static Set<String> supportedLayerTypes() {
        return SUPPORTED.keySet();
    }

    /** The quantizable weights, in execution order (a graph's in topological order). */
    public List<WeightTarget> targets() {
        return List.copyOf(targets);
    }

    public WeightTarget target(String name) {
        for (WeightTarget t : targets) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new QuantizationException("no quantizable weight named '" + name + "'; the network has " + names());
    }

    /** The weight in {@code [out, in...]} layout, as a new FLOAT array (c order). */
    public INDArray weight(WeightTarget t) {
        INDArray w = layers[t.layerIndex()].getParam(t.paramKey());
        INDArray view = t.layout() == WeightTarget.Layout.IN_OUT ? w.transpose() : w;
        return view.castTo(DataType.FLOAT).dup('c');
    }

    /** Writes {@code outIn} (in {@code [out, in...]} layout) into the network's weight in place. */
    public void setWeight(WeightTarget t, INDArray outIn) {
        INDArray w = layers[t.layerIndex()].getParam(t.paramKey());
        INDArray value = t.layout() == WeightTarget.Layout.IN_OUT ? outIn.transpose() : outIn;
        if (!java.util.Arrays.equals(value.shape(), w.shape())) {
            throw new QuantizationException("weight '" + t.name() + "' has shape " + java.util.Arrays.toString(w.shape())
                    + " (DL4J layout) but the new value has " + java.util.Arrays.toString(value.shape()));
        }
        w.assign(value.castTo(w.dataType()));
    }

    /**
     * The bias ({@code "b"}) of the target's layer as the network stores it (writes change the network), or null when
     * the layer has none ({@code hasBias(false)}); in {@link #otherParams()} it is {@code "<layer>/b"}.
     */
    public INDArray bias(WeightTarget t) {
        return layers[t.layerIndex()].paramTable().get(DefaultParamInitializer.BIAS_KEY);
    }

    /** Parameters that are not targets (biases, norms...), by {@code "<layer>/<key>"}, as they are stored. */
    public Map<String, INDArray> otherParams() {
        Map<String, INDArray> out = new java.util.LinkedHashMap<>();
        for (int i : order) {
            String layerName = layers[i].conf().getLayer().getLayerName() == null ? String.valueOf(i)
                    : layers[i].conf().getLayer().getLayerName();
            for (Map.Entry<String, INDArray> p : layers[i].paramTable().entrySet()) {
                String name = layerName + "/" + p.getKey();
                if (targets.stream().noneMatch(t -> t.name().equals(name))) {
                    out.put(name, p.getValue());
                }
            }
        }
        return out;
    }

    private List<String> names() {
        return targets.stream().map(WeightTarget::name).toList();
    }
}
