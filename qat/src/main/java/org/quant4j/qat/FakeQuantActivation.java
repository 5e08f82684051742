package org.quant4j.qat;

import java.util.Objects;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.BaseActivationFunction;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.io.CorruptFileException;

/**
 * A layer's activation function followed by per-tensor fake quantization of its output
 * (Jacob et al. 2018, sec. 3: "activations are quantized at points where they would be during
 * inference", i.e. after the activation function). The {@link ActivationQuantizer} decides the grid
 * (observed min-max range, LSQ learned step, LSQ+ learned step and offset) and the backward pass;
 * the gradient it returns is then multiplied by the wrapped activation's derivative.
 *
 * <p>DL4J's configuration JSON (shaded Jackson, hence {@code ModelSerializer}) stores the layer name, the wrapped
 * activation, the {@link QatConfig} and the quantizer with its state ({@link QuantizerState}).
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class FakeQuantActivation extends BaseActivationFunction {
    private static final long serialVersionUID = 1L;

    private final String layerName;
    private final IActivation inner;
    private final ActivationQuantizer quantizer;
    private final QatConfig config;
    /** Scratch of the fused backward pass (not configuration: transient, skipped by Java and Jackson serialization). */
    private transient ClippedSte clippedSte;

    FakeQuantActivation(String layerName, IActivation inner, ActivationQuantizer quantizer, QatConfig config) {
        this.layerName = Objects.requireNonNull(layerName, "layerName");
        this.inner = Objects.requireNonNull(inner, "inner");
        this.quantizer = Objects.requireNonNull(quantizer, "quantizer");
        this.config = Objects.requireNonNull(config, "config");
    }

    @JsonCreator
    static FakeQuantActivation fromJson(@JsonProperty("layerName") String layerName,
                                        @JsonProperty("inner") IActivation inner,
                                        @JsonProperty("qatConfig") String config,
                                        @JsonProperty("quantizerState") String quantizer) {
        String owner = layerName == null ? "a FakeQuantActivation" : layerName;
        if (inner == null) {
            throw new CorruptFileException(owner + ": the saved FakeQuantActivation has no wrapped activation");
        }
        return new FakeQuantActivation(owner, inner, QuantizerState.decode(quantizer, ActivationQuantizer.class, owner,
                "activation quantizer"), QuantizerState.config(config, owner));
    }

    @JsonProperty("layerName")
    private String jsonLayerName() {
        return layerName;
    }

    @JsonProperty("inner")
    private IActivation jsonInner() {
        return inner;
    }

    @JsonProperty("qatConfig")
    private String jsonConfig() {
        return config.toJson();
    }

    @JsonProperty("quantizerState")
    private String jsonQuantizer() {
        return QuantizerState.encode(quantizer);
    }

    /** The configuration {@link Qat#prepare} (or {@link Qat#load}) inserted this quantizer with. */
    QatConfig config() {
        return config;
    }

    public IActivation inner() {
        return inner;
    }

    ActivationQuantizer quantizer() {
        return quantizer;
    }

    String layerName() {
        return layerName;
    }

    @Override
    public INDArray getActivation(INDArray in, boolean training) {
        INDArray a = inner.getActivation(in, training);
        try {
            return quantizer.forward(a, training);
        } catch (InvalidTensorException e) {
            throw new TrainingDivergedException(layerName + " activation: " + e.getMessage());
        }
    }

    /**
     * STE: the wrapped activation's backward. Clipped STE on a fixed or observed grid: {@link ClippedSte}, one pass
     * over raw floats (it may overwrite {@code in}, as DL4J's own activation functions do). LSQ: the quantizer's
     * backward on the recomputed activation, then the wrapped activation's backward.
     */
    @Override
    public Pair<INDArray, INDArray> backprop(INDArray in, INDArray epsilon) {
        if (quantizer instanceof ActivationQuantizer.Ste ste) {
            AffineGrid g = ste.clipGrid();
            if (g == null) {
                return inner.backprop(in, epsilon);
            }
            if (ClippedSte.applicable(in, epsilon)) {
                if (clippedSte == null) {
                    clippedSte = new ClippedSte();
                }
                return clippedSte.backprop(inner, g, in, epsilon);
            }
        }
        INDArray a = inner.getActivation(in.dup(), true);
        return inner.backprop(in, quantizer.backward(a, epsilon));
    }

    @Override
    public String toString() {
        return inner + "+fakequant(" + quantizer + ")";
    }
}
