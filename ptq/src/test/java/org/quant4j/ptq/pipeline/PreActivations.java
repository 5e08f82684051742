package org.quant4j.ptq.pipeline;

import java.util.List;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A layer's pre-activations as DL4J itself computes them (its own Dense product or convolution, not quant4j's im2col):
 * a clone of the network whose layer has the identity activation, run forward to that layer.
 */
final class PreActivations {
    private PreActivations() {}

    /** Layer {@code index}'s pre-activations for {@code features}: {@code [n, out]} or {@code [n, out, h, w]}. */
    static INDArray of(MultiLayerNetwork net, int index, INDArray features) {
        MultiLayerNetwork clone = net.clone();
        ((BaseLayer) clone.getLayer(index).conf().getLayer()).setActivationFn(new ActivationIdentity());
        List<INDArray> activations = clone.feedForwardToLayer(index, features, false);
        return activations.get(activations.size() - 1).castTo(DataType.DOUBLE);
    }

    /** The pre-activations of the graph's layer vertex {@code layer}. */
    static INDArray of(ComputationGraph graph, String layer, INDArray features) {
        ComputationGraph clone = graph.clone();
        ((BaseLayer) clone.getLayer(layer).conf().getLayer()).setActivationFn(new ActivationIdentity());
        return clone.feedForward(features, false).get(layer).castTo(DataType.DOUBLE);
    }

    /** The mean pre-activation of each output channel, over examples (and positions of a convolution). */
    static double[] channelMeans(INDArray pre) {
        INDArray means = pre.rank() == 4 ? pre.mean(0, 2, 3) : pre.mean(0);
        return means.toDoubleVector();
    }

    /** The largest {@code |a_i − b_i|}. */
    static double maxDifference(double[] a, double[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** The largest {@code |a_i|}. */
    static double maxAbs(double[] a) {
        return maxDifference(a, new double[a.length]);
    }
}
