package org.quant4j.calibration;

import java.util.List;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.model.WeightTarget;

/**
 * Layer inputs of a {@link MultiLayerNetwork}: {@code feedForwardToLayer(i − 1)} (inference mode) gives the
 * output of layer {@code i − 1} (the network input for layer 0), then layer {@code i}'s input preprocessor runs.
 */
final class MultiLayerInputs implements LayerInputSource {
    private final MultiLayerNetwork net;

    MultiLayerInputs(MultiLayerNetwork net) {
        this.net = net;
    }

    @Override
    public Layer layerConf(WeightTarget target) {
        return net.getLayer(target.layerIndex()).conf().getLayer();
    }

    @Override
    public INDArray layerInput(WeightTarget target, INDArray features) {
        int i = target.layerIndex();
        INDArray x = features;
        if (i > 0) {
            List<INDArray> activations = net.feedForwardToLayer(i - 1, features, false);
            x = activations.get(activations.size() - 1);
        }
        return preprocessed(i, x);
    }

    /** {@code x} (the output of layer {@code i − 1}, or the network input) through layer {@code i}'s preprocessor. */
    INDArray preprocessed(int i, INDArray x) {
        InputPreProcessor preProcessor = net.getLayerWiseConfigurations().getInputPreProcess(i);
        return preProcessor == null ? x : preProcessor.preProcess(x, (int) x.size(0), LayerWorkspaceMgr.noWorkspaces());
    }

    /**
     * Runs layers {@code from .. to − 1} (each after its preprocessor, inference mode, current weights) on {@code x},
     * the input of layer {@code from} before its preprocessor; returns the output of layer {@code to − 1}.
     */
    INDArray run(int from, int to, INDArray x) {
        for (int l = from; l < to; l++) {
            x = net.getLayer(l).activate(preprocessed(l, x), false, LayerWorkspaceMgr.noWorkspaces()).detach();
        }
        return x;
    }
}
