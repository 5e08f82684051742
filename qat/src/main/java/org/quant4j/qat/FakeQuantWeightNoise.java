package org.quant4j.qat;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.TernaryScale;
import org.quant4j.core.io.CorruptFileException;

/**
 * Weight fake quantization through DL4J's weight-noise hook. DL4J calls
 * {@link #getParameter} for the weight of a layer on every forward pass and reuses the returned
 * {@code q(W)} in that iteration's backward pass, while the updater changes the float {@code W}:
 * the gradient computed at {@code q(W)} is applied to {@code W} unchanged, which is the
 * straight-through estimator {@code ∂q/∂W = I} (Bengio et al. 2013; Jacob et al. 2018, sec. 3).
 * Biases stay in float (they are int32 in integer inference). Inference also sees {@code q(W)}.
 *
 * <p>DL4J's configuration JSON ({@code ModelSerializer}) stores the layer name, the layout, the {@link QatConfig}
 * and the quantizer with its state (LSQ steps; {@link QuantizerState}).
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class FakeQuantWeightNoise implements IWeightNoise {
    private static final long serialVersionUID = 1L;
    /** The weight parameter key of DL4J's Dense, Output and Convolution layers. */
    static final String WEIGHT_KEY = "W";

    private final String layerName;
    private final WeightLayout layout;
    private final QuantSpec spec;
    private final QatConfig config;
    private final WeightQuantizer quantizer;

    FakeQuantWeightNoise(String layerName, WeightLayout layout, QuantSpec spec, QatConfig config,
                         WeightQuantizer quantizer) {
        this.layerName = layerName;
        this.layout = layout;
        this.spec = spec;
        this.config = config;
        this.quantizer = quantizer;
    }

    @JsonCreator
    static FakeQuantWeightNoise fromJson(@JsonProperty("layerName") String layerName,
                                         @JsonProperty("layout") WeightLayout layout,
                                         @JsonProperty("qatConfig") String config,
                                         @JsonProperty("quantizerState") String quantizer) {
        String owner = layerName == null ? "a FakeQuantWeightNoise" : layerName;
        QatConfig c = QuantizerState.config(config, owner);
        if (layout == null || c.weights() == null) {
            throw new CorruptFileException(owner + ": the saved weight quantizer has no "
                    + (layout == null ? "weight layout" : "weight spec"));
        }
        return new FakeQuantWeightNoise(owner, layout, c.weights(), c,
                QuantizerState.decode(quantizer, WeightQuantizer.class, owner, "weight quantizer"));
    }

    @JsonProperty("layerName")
    private String jsonLayerName() {
        return layerName;
    }

    @JsonProperty("layout")
    private WeightLayout jsonLayout() {
        return layout;
    }

    @JsonProperty("qatConfig")
    private String jsonConfig() {
        return config.toJson();
    }

    @JsonProperty("quantizerState")
    private String jsonQuantizer() {
        return QuantizerState.encode(quantizer);
    }

    /** A weight quantizer of {@code spec} with the defaults of a config that only sets {@code spec}. */
    FakeQuantWeightNoise(String layerName, WeightLayout layout, QuantSpec spec) {
        this(layerName, layout, spec, QatConfig.builder().weights(spec).build(), WeightQuantizers.of(layerName, spec, TernaryScale.ABSMEAN));
    }

    /** The configuration {@link Qat#prepare} inserted this quantizer with. */
    QatConfig config() {
        return config;
    }

    public QuantSpec spec() {
        return spec;
    }

    String layerName() {
        return layerName;
    }

    WeightLayout layout() {
        return layout;
    }

    WeightQuantizer quantizer() {
        return quantizer;
    }

    @Override
    public INDArray getParameter(Layer layer, String paramKey, int iteration, int epoch, boolean train,
                                 LayerWorkspaceMgr workspaceMgr) {
        INDArray w = layer.getParam(paramKey);
        if (!WEIGHT_KEY.equals(paramKey)) {
            return w;
        }
        if (train && quantizer instanceof LsqWeightQuantizer lsq) {
            lsq.beginTrainingPass(iteration);
        }
        return fakeQuantize(w, iteration);
    }

    /** {@code q(W)} with the shape of the DL4J weight {@code w}. */
    INDArray fakeQuantize(INDArray w, int iteration) {
        if (!quantizer.refusesNonFinite() && !finite(w)) {
            throw diverged(iteration);
        }
        layout.checkGranularity(layerName, w.shape(), spec.granularity());
        try {
            return layout.toDl4j(quantizer.fakeQuantize(layout.outIn(w)), w.shape());
        } catch (InvalidTensorException e) {
            if (!finite(w)) {
                throw diverged(iteration);
            }
            throw new InvalidTensorException(layerName + ", iteration " + iteration + ": " + e.getMessage(), e);
        }
    }

    /** ND4J's max/min reductions skip NaN: one sum exposes NaN and Inf. */
    private static boolean finite(INDArray w) {
        return Double.isFinite(w.sumNumber().doubleValue());
    }

    private TrainingDivergedException diverged(int iteration) {
        return new TrainingDivergedException(layerName + ", iteration " + iteration
                + ": the weight holds NaN or Inf; training diverged (lower the learning rate, or add a "
                + "DivergenceGuard listener to stop at the first non-finite value and restore the last good parameters)");
    }

    @Override
    public IWeightNoise clone() {
        return new FakeQuantWeightNoise(layerName, layout, spec, config, quantizer);
    }
}
