package org.quant4j.calibration;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.StoredWeight;
import org.quant4j.model.WeightTarget;

/**
 * Where the inverse of each target's AWQ input scales can go in a DL4J network without changing its function
 * (Lin et al. 2024, §3.2; AutoAWQ {@code scale_fc_fc}): into the rows and bias of the previous {@code DenseLayer}
 * when only positively homogeneous per-element ops lie between ({@code f(x/s) = f(x)/s} for {@code s > 0}: identity,
 * ReLU without cap or threshold, LeakyReLU as that Dense's activation or as {@code ActivationLayer}s, and
 * {@code DropoutLayer}s, the identity at inference), that Dense has no layer norm, and nothing else reads its output.
 * Every other target — the first layer, a convolution, an input preprocessor (conv → flatten → dense) or another
 * op in between (BatchNorm, sigmoid, tanh...), a producer with several consumers in a graph — keeps its scales as
 * {@code <target>/input_scale} ({@link StoredWeight.InputScaled}); {@link #reason} says why.
 */
final class AwqFolds {
    private final Map<String, String> into = new LinkedHashMap<>();
    private final Map<String, String> reasons = new LinkedHashMap<>();

    private AwqFolds() {}

    /** The previous Dense target that absorbs {@code 1/s} of {@code target}, or null. */
    String into(String target) {
        return into.get(target);
    }

    /** Why the scales of {@code target} are stored rather than folded (null when folded). */
    String reason(String target) {
        return reasons.get(target);
    }

    /** A node of the network as the walk back from a target sees it. */
    private interface Topology {
        /** The layer configuration of {@code node}, or null for a network input or a non-layer vertex. */
        Layer layer(String node);

        /** Why {@code node}'s input cannot carry a scale from its producer (null when it can), and that producer. */
        String blocked(String node);

        String producer(String node);
    }

    static AwqFolds of(MultiLayerNetwork net) {
        int n = net.getnLayers();
        Topology topology = new Topology() {
            @Override
            public Layer layer(String node) {
                return net.getLayer(Integer.parseInt(node)).conf().getLayer();
            }

            @Override
            public String blocked(String node) {
                int i = Integer.parseInt(node);
                if (i == 0) {
                    return "first layer";
                }
                return net.getLayerWiseConfigurations().getInputPreProcess(i) != null
                        ? "input preprocessor " + net.getLayerWiseConfigurations().getInputPreProcess(i).getClass().getSimpleName()
                        : null;
            }

            @Override
            public String producer(String node) {
                return Integer.toString(Integer.parseInt(node) - 1);
            }
        };
        AwqFolds folds = new AwqFolds();
        Dl4jNetwork view = Dl4jNetwork.of(net);
        for (WeightTarget t : view.targets()) {
            folds.walk(t, Integer.toString(t.layerIndex()), topology, view, i -> layerName(net, Integer.parseInt(i)));
        }
        return folds;
    }

    static AwqFolds of(ComputationGraph graph) {
        ComputationGraphConfiguration conf = graph.getConfiguration();
        Map<String, GraphVertex> vertices = conf.getVertices();
        Topology topology = new Topology() {
            @Override
            public Layer layer(String node) {
                return vertices.get(node) instanceof LayerVertex v ? v.getLayerConf().getLayer() : null;
            }

            @Override
            public String blocked(String node) {
                List<String> inputs = conf.getVertexInputs().get(node);
                if (inputs == null || inputs.size() != 1) {
                    return "vertex with " + (inputs == null ? 0 : inputs.size()) + " inputs";
                }
                if (conf.getNetworkInputs().contains(inputs.get(0))) {
                    return "first layer";
                }
                if (vertices.get(node) instanceof LayerVertex v && v.getPreProcessor() != null) {
                    return "input preprocessor " + v.getPreProcessor().getClass().getSimpleName();
                }
                String producer = inputs.get(0);
                long consumers = conf.getVertexInputs().values().stream().filter(in -> in.contains(producer)).count();
                if (consumers > 1 || conf.getNetworkOutputs().contains(producer)) {
                    return "'" + producer + "' has several consumers";
                }
                return null;
            }

            @Override
            public String producer(String node) {
                return conf.getVertexInputs().get(node).get(0);
            }
        };
        AwqFolds folds = new AwqFolds();
        Dl4jNetwork view = Dl4jNetwork.of(graph);
        for (WeightTarget t : view.targets()) {
            folds.walk(t, t.layerName(), topology, view, node -> node);
        }
        return folds;
    }

    private void walk(WeightTarget t, String node, Topology topology, Dl4jNetwork view,
                      java.util.function.UnaryOperator<String> targetLayerName) {
        if (!t.paramKey().equals("W") || !(topology.layer(node) instanceof org.deeplearning4j.nn.conf.layers.FeedForwardLayer)
                || t.layout() != WeightTarget.Layout.IN_OUT) {
            reasons.put(t.name(), t.layout() == WeightTarget.Layout.OUT_IN ? "convolution" : t.layerType() + " " + t.paramKey());
            return;
        }
        String current = node;
        while (true) {
            String blocked = topology.blocked(current);
            if (blocked != null) {
                reasons.put(t.name(), blocked);
                return;
            }
            String producer = topology.producer(current);
            Layer layer = topology.layer(producer);
            if (layer instanceof DropoutLayer
                    || layer instanceof ActivationLayer a && homogeneous(a.getActivationFn())) {
                current = producer;
                continue;
            }
            if (layer instanceof DenseLayer d && !d.hasLayerNorm() && homogeneous(d.getActivationFn())) {
                String previous = targetLayerName.apply(producer) + "/W";
                if (view.targets().stream().anyMatch(p -> p.name().equals(previous))) {
                    into.put(t.name(), previous);
                    return;
                }
            }
            String what = layer == null ? "a non-layer vertex" : layer.getClass().getSimpleName();
            if (layer instanceof DenseLayer d) {
                what += d.hasLayerNorm() ? " with layer norm" : " with activation " + d.getActivationFn();
            } else if (layer instanceof ActivationLayer a) {
                what += " " + a.getActivationFn();
            }
            reasons.put(t.name(), what + " before it");
            return;
        }
    }

    /** {@code f(x/s) = f(x)/s} for every {@code s > 0}. */
    static boolean homogeneous(IActivation f) {
        return f instanceof ActivationIdentity || f instanceof ActivationLReLU
                || f instanceof ActivationReLU r && r.getMax() == null
                && (r.getThreshold() == null || r.getThreshold() == 0);
    }

    private static String layerName(MultiLayerNetwork net, int i) {
        String name = net.getLayer(i).conf().getLayer().getLayerName();
        return name == null ? Integer.toString(i) : name;
    }
}
