package org.quant4j.calibration;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantizationException;
import org.quant4j.model.WeightTarget;

/**
 * Layer inputs of a single-input {@link ComputationGraph}: the target's layer vertex (named like the layer) has one
 * input vertex; the graph is run forward (inference mode) up to that vertex, whose output then goes through the
 * layer vertex's preprocessor. A layer fed directly by the network input gets the features themselves.
 */
final class GraphInputs implements LayerInputSource {
    private final ComputationGraph graph;

    GraphInputs(ComputationGraph graph) {
        if (graph.getNumInputArrays() != 1) {
            throw new QuantizationException("calibration feeds graphs with one input array; this graph has "
                    + graph.getNumInputArrays() + " (" + graph.getConfiguration().getNetworkInputs() + ")");
        }
        this.graph = graph;
    }

    @Override
    public Layer layerConf(WeightTarget target) {
        return vertex(target).getLayer().conf().getLayer();
    }

    @Override
    public INDArray layerInput(WeightTarget target, INDArray features) {
        LayerVertex vertex = vertex(target);
        VertexIndices[] inputs = vertex.getInputVertices();
        if (inputs == null || inputs.length != 1) {
            throw new QuantizationException("layer '" + target.name() + "': its vertex has "
                    + (inputs == null ? 0 : inputs.length) + " inputs; a layer vertex with exactly one is expected");
        }
        GraphVertex source = graph.getVertices()[inputs[0].getVertexIndex()];
        INDArray x = source.isInputVertex() ? features
                : graph.feedForward(new INDArray[] {features}, topologicalPosition(source), false).get(source.getVertexName());
        InputPreProcessor preProcessor = vertex.getLayerPreProcessor();
        return preProcessor == null ? x : preProcessor.preProcess(x, (int) x.size(0), LayerWorkspaceMgr.noWorkspaces());
    }

    /**
     * DL4J's {@code feedForward(input, layerTillIndex, train)} stops at a position in the topological order, which
     * differs from the vertex index when the builder got the vertices out of execution order.
     */
    private int topologicalPosition(GraphVertex v) {
        int[] order = graph.topologicalSortOrder();
        for (int i = 0; i < order.length; i++) {
            if (order[i] == v.getVertexIndex()) {
                return i;
            }
        }
        throw new IllegalStateException("vertex '" + v.getVertexName() + "' is not in the graph's topological order");
    }

    private LayerVertex vertex(WeightTarget target) {
        GraphVertex v = graph.getVertex(target.layerName());
        if (!(v instanceof LayerVertex layerVertex)) {
            throw new QuantizationException("layer '" + target.name() + "': the graph has no layer vertex named '"
                    + target.layerName() + "'");
        }
        return layerVertex;
    }
}
