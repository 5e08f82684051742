package org.quant4j.qat;

import java.util.HashMap;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Weight fake quantization of a DL4J {@code LSTM}: its input weight {@code W [nIn, 4·nOut]} and recurrent weight
 * {@code RW [nOut, 4·nOut]} each through their own {@link FakeQuantWeightNoise} (the {@code [out, in]} view is the
 * transpose, so a channel is one gate unit's column), the bias in float. DL4J's LSTM fetches both through the
 * weight-noise hook, so the straight-through estimator is the same as for dense layers.
 *
 * <p>It also carries the quantizer of the LSTM's output ({@link QuantizedOutputLstm}; null if the output stays in
 * float, and both weights are null if they do), since the layer implementation is not part of DL4J's configuration:
 * so the output quantizer's state is saved with the configuration JSON, and {@link Qat#rearm} puts the layer
 * implementation back after {@code ModelSerializer} restored the network.
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
final class LstmWeightNoise implements IWeightNoise {
    private static final long serialVersionUID = 1L;
    static final String RECURRENT_KEY = "RW";

    private final FakeQuantWeightNoise input;
    private final FakeQuantWeightNoise recurrent;
    private final ActivationQuantizer output;
    private final String layerName;

    /**
     * @param input     quantizer of {@code W}, or null (float weights)
     * @param recurrent quantizer of {@code RW}, or null
     * @param output    quantizer of the output {@code h}, or null
     */
    LstmWeightNoise(String layerName, FakeQuantWeightNoise input, FakeQuantWeightNoise recurrent, ActivationQuantizer output) {
        this.layerName = layerName;
        this.input = input;
        this.recurrent = recurrent;
        this.output = output;
    }

    @JsonCreator
    static LstmWeightNoise fromJson(@JsonProperty("layerName") String layerName,
                                    @JsonProperty("input") FakeQuantWeightNoise input,
                                    @JsonProperty("recurrent") FakeQuantWeightNoise recurrent,
                                    @JsonProperty("outputQuantizerState") String output) {
        String owner = layerName == null ? "an LstmWeightNoise" : layerName;
        return new LstmWeightNoise(owner, input, recurrent,
                output == null ? null : QuantizerState.decode(output, ActivationQuantizer.class, owner, "output quantizer"));
    }

    @JsonProperty("layerName")
    private String jsonLayerName() {
        return layerName;
    }

    @JsonProperty("input")
    private FakeQuantWeightNoise jsonInput() {
        return input;
    }

    @JsonProperty("recurrent")
    private FakeQuantWeightNoise jsonRecurrent() {
        return recurrent;
    }

    @JsonProperty("outputQuantizerState")
    private String jsonOutput() {
        return QuantizerState.encode(output);
    }

    /** The quantizer of parameter {@code key}, or null if it stays in float. */
    FakeQuantWeightNoise forKey(String key) {
        return switch (key) {
            case FakeQuantWeightNoise.WEIGHT_KEY -> input;
            case RECURRENT_KEY -> recurrent;
            default -> null;
        };
    }

    /** The quantizer of the LSTM's output, or null. */
    ActivationQuantizer output() {
        return output;
    }

    @Override
    public INDArray getParameter(Layer layer, String paramKey, int iteration, int epoch, boolean train,
                                 LayerWorkspaceMgr workspaceMgr) {
        INDArray w = layer.getParam(paramKey);
        FakeQuantWeightNoise fq = forKey(paramKey);
        if (fq == null) {
            return w;
        }
        if (train && fq.quantizer() instanceof LsqWeightQuantizer lsq) {
            lsq.beginTrainingPass(iteration);
        }
        return fq.fakeQuantize(w, iteration);
    }

    @Override
    public IWeightNoise clone() {
        return new LstmWeightNoise(layerName, input, recurrent, output);
    }
}
