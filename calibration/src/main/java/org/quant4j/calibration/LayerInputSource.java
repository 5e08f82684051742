package org.quant4j.calibration;

import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.model.WeightTarget;

/** Runs a network on a batch up to a target layer and returns that layer's input as the layer sees it. */
interface LayerInputSource {
    /** The configuration of the layer that holds {@code target}. */
    Layer layerConf(WeightTarget target);

    /**
     * The input of the target's layer for a batch of network inputs, after the layer's input preprocessor (so a
     * Dense layer after a convolution gets flat rows), computed in inference mode with the current weights.
     */
    INDArray layerInput(WeightTarget target, INDArray features);
}
