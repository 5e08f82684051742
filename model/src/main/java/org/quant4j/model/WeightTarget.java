package org.quant4j.model;

/**
 * One quantizable weight of a network: its name ({@code "<layer name or index>/<param key>"}), where it lives,
 * and how DL4J lays it out.
 *
 * @param name       unique name, e.g. {@code "0/W"} or {@code "conv1/W"}
 * @param layerIndex index of the layer (MultiLayerNetwork) or vertex layer (ComputationGraph)
 * @param layerName  the DL4J layer name, or its index as text
 * @param paramKey   DL4J parameter key ({@code W}, {@code RW})
 * @param layerType  simple class name of the DL4J layer configuration ({@code DenseLayer}, {@code ConvolutionLayer}...)
 * @param layout     how the stored array maps to {@code [out, in]}
 */
public record WeightTarget(String name, int layerIndex, String layerName, String paramKey, String layerType,
                           Layout layout) {
    /** DL4J's storage of a weight relative to the {@code [out, in...]} view quant4j quantizes. */
    public enum Layout {
        /** {@code [nIn, nOut]} (Dense, Output, LSTM input and recurrent weights): the view is the transpose. */
        IN_OUT,
        /** {@code [out, in, kh, kw]} (2-D convolution): already output-major. */
        OUT_IN
    }
}
