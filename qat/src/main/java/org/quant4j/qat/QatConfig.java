package org.quant4j.qat;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.TernaryScale;

/**
 * What {@link Qat#prepare} inserts: the weight spec (null: float weights), the activation spec
 * (null: float activations; INT per tensor only), the activation backward pass, the observer and
 * when it freezes, and the layers kept entirely in float. Immutable, built with {@link #builder()},
 * round-trips through JSON.
 *
 * <pre>{@code
 * QatConfig cfg = QatConfig.builder()
 *         .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
 *         .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
 *         .freezeObserversAfter(500)
 *         .build();
 * }</pre>
 */
@JsonPropertyOrder({"weights", "weightGradient", "ternaryScale", "activations", "activationGradient", "observer", "averagingConstant",
        "percentile", "histogramBins", "freezeObserversAfter", "freezeBnStatsAfter", "floatLayers"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class QatConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final QuantSpec weights;
    private final WeightGradient weightGradient;
    private final TernaryScale ternaryScale;
    private final QuantSpec activations;
    private final ActivationGradient activationGradient;
    private final ObserverKind observer;
    private final float averagingConstant;
    private final double percentile;
    private final int histogramBins;
    private final int freezeObserversAfter;
    private final int freezeBnStatsAfter;
    private final Set<Integer> floatLayers;

    private QatConfig(Builder b) {
        this.weights = b.weights;
        this.weightGradient = b.weightGradient;
        this.ternaryScale = b.ternaryScale;
        this.activations = b.activations;
        this.activationGradient = b.activationGradient;
        this.observer = b.observer;
        this.averagingConstant = b.averagingConstant;
        this.percentile = b.percentile;
        this.histogramBins = b.histogramBins;
        this.freezeObserversAfter = b.freezeObserversAfter;
        this.freezeBnStatsAfter = b.freezeBnStatsAfter;
        this.floatLayers = Collections.unmodifiableSet(new TreeSet<>(b.floatLayers));
    }

    public static Builder builder() {
        return new Builder();
    }

    @JsonCreator
    static QatConfig fromJsonFields(@JsonProperty("weights") QuantSpec weights,
                                    @JsonProperty("weightGradient") WeightGradient weightGradient,
                                    @JsonProperty("ternaryScale") TernaryScale ternaryScale,
                                    @JsonProperty("activations") QuantSpec activations,
                                    @JsonProperty("activationGradient") ActivationGradient activationGradient,
                                    @JsonProperty("observer") ObserverKind observer,
                                    @JsonProperty("averagingConstant") Float averagingConstant,
                                    @JsonProperty("percentile") Double percentile,
                                    @JsonProperty("histogramBins") Integer histogramBins,
                                    @JsonProperty("freezeObserversAfter") Integer freezeObserversAfter,
                                    @JsonProperty("freezeBnStatsAfter") Integer freezeBnStatsAfter,
                                    @JsonProperty("floatLayers") Set<Integer> floatLayers) {
        Builder b = builder().weights(weights).activations(activations);
        if (weightGradient != null) b.weightGradient(weightGradient);
        if (ternaryScale != null) b.ternaryScale(ternaryScale);
        if (activationGradient != null) b.activationGradient(activationGradient);
        if (observer != null) b.observer(observer);
        if (averagingConstant != null) b.averagingConstant(averagingConstant);
        if (percentile != null) b.percentile(percentile);
        if (histogramBins != null) b.histogramBins(histogramBins);
        if (freezeObserversAfter != null) b.freezeObserversAfter(freezeObserversAfter);
        if (freezeBnStatsAfter != null) b.freezeBnStatsAfter(freezeBnStatsAfter);
        if (floatLayers != null) b.floatLayers(floatLayers);
        return b.build();
    }

    public static QatConfig fromJson(String json) {
        try {
            return JSON.readValue(json, QatConfig.class);
        } catch (JsonProcessingException e) {
            Throwable root = e.getCause() instanceof QuantizationException q ? q : e;
            throw new InvalidSpecException("cannot read QAT config JSON: " + root.getMessage());
        }
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Weight spec; null keeps weights in float. */
    @JsonProperty public QuantSpec weights() { return weights; }
    /** Weight grid and backward pass: fitted scales with STE (default), or LSQ's learned steps. */
    @JsonProperty public WeightGradient weightGradient() { return weightGradient; }
    /** Threshold and scale of ternary weights: BitNet's absmean (default) or TWN's (ternary weight specs only). */
    @JsonProperty public TernaryScale ternaryScale() { return ternaryScale; }
    /** Activation spec (INT, per tensor); null keeps activations in float. */
    @JsonProperty public QuantSpec activations() { return activations; }
    @JsonProperty public ActivationGradient activationGradient() { return activationGradient; }
    @JsonProperty public ObserverKind observer() { return observer; }
    /** Weight of a new batch in the moving-average observer. */
    @JsonProperty public float averagingConstant() { return averagingConstant; }
    /** Percentile of each tail kept by the {@link ObserverKind#PERCENTILE} observer, in (50, 100]. */
    @JsonProperty public double percentile() { return percentile; }
    /** Histogram bins kept at most by the {@link ObserverKind#PERCENTILE} and {@link ObserverKind#MSE} observers. */
    @JsonProperty public int histogramBins() { return histogramBins; }
    /** Training iterations after which activation ranges stop changing; negative: never. */
    @JsonProperty public int freezeObserversAfter() { return freezeObserversAfter; }
    /**
     * Training iterations after which folded BatchNormalization layers normalize with their running statistics and
     * stop updating them (PyTorch's {@code freeze_bn_stats}); negative (default): never.
     */
    @JsonProperty public int freezeBnStatsAfter() { return freezeBnStatsAfter; }
    /** Indices of layers left entirely in float (weights and output activation). */
    @JsonProperty public Set<Integer> floatLayers() { return floatLayers; }

    @Override
    public boolean equals(Object o) {
        return o instanceof QatConfig c && Objects.equals(c.weights, weights) && c.weightGradient == weightGradient
                && c.ternaryScale == ternaryScale
                && Objects.equals(c.activations, activations)
                && c.activationGradient == activationGradient && c.observer == observer
                && c.averagingConstant == averagingConstant && c.percentile == percentile
                && c.histogramBins == histogramBins && c.freezeObserversAfter == freezeObserversAfter
                && c.freezeBnStatsAfter == freezeBnStatsAfter
                && c.floatLayers.equals(floatLayers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(weights, weightGradient, ternaryScale, activations, activationGradient, observer, averagingConstant, percentile,
                histogramBins, freezeObserversAfter, freezeBnStatsAfter, floatLayers);
    }

    @Override
    public String toString() {
        return toJson();
    }

    /**
     * Defaults: float weights and activations, STE weights (BitNet's absmean for ternary), clipped STE activations,
     * moving-average min-max (c = 0.01), never frozen; for histogram observers the 99.99th percentile and 2048 bins
     * (TensorRT's and PyTorch's defaults).
     */
    public static final class Builder {
        private QuantSpec weights;
        private WeightGradient weightGradient = WeightGradient.STE;
        private TernaryScale ternaryScale = TernaryScale.ABSMEAN;
        private QuantSpec activations;
        private ActivationGradient activationGradient = ActivationGradient.CLIPPED_STE;
        private ObserverKind observer = ObserverKind.MOVING_AVERAGE_MIN_MAX;
        private float averagingConstant = 0.01f;
        private double percentile = org.quant4j.calibration.observer.PercentileObserver.DEFAULT_PERCENTILE;
        private int histogramBins = org.quant4j.calibration.observer.HistogramObserver.DEFAULT_BINS;
        private int freezeObserversAfter = -1;
        private int freezeBnStatsAfter = -1;
        private Set<Integer> floatLayers = new TreeSet<>();

        public Builder weights(QuantSpec spec) {
            this.weights = spec;
            return this;
        }

        public Builder weightGradient(WeightGradient g) {
            this.weightGradient = Objects.requireNonNull(g, "weightGradient");
            return this;
        }

        /** Threshold and scale of ternary weights (see {@link TernaryScale}); default ABSMEAN. */
        public Builder ternaryScale(TernaryScale scale) {
            this.ternaryScale = Objects.requireNonNull(scale, "ternaryScale");
            return this;
        }

        public Builder activations(QuantSpec spec) {
            this.activations = spec;
            return this;
        }

        public Builder activationGradient(ActivationGradient g) {
            this.activationGradient = Objects.requireNonNull(g, "activationGradient");
            return this;
        }

        public Builder observer(ObserverKind kind) {
            this.observer = Objects.requireNonNull(kind, "observer");
            return this;
        }

        public Builder averagingConstant(float c) {
            this.averagingConstant = c;
            return this;
        }

        public Builder percentile(double p) {
            this.percentile = p;
            return this;
        }

        public Builder histogramBins(int bins) {
            this.histogramBins = bins;
            return this;
        }

        public Builder freezeObserversAfter(int iterations) {
            this.freezeObserversAfter = iterations;
            return this;
        }

        public Builder freezeBnStatsAfter(int iterations) {
            this.freezeBnStatsAfter = iterations;
            return this;
        }

        public Builder floatLayers(Set<Integer> layerIndices) {
            this.floatLayers = new TreeSet<>(layerIndices);
            return this;
        }

        public Builder floatLayers(Integer... layerIndices) {
            return floatLayers(Set.of(layerIndices));
        }

        public QatConfig build() {
            if (activations != null && (activations.format() != Format.INT
                    || activations.granularity().kind() != Granularity.Kind.TENSOR)) {
                throw new InvalidSpecException("QAT activation quantization is INT per tensor, not "
                        + activations.shortName());
            }
            if (ternaryScale != TernaryScale.ABSMEAN && (weights == null || weights.format() != Format.TERNARY)) {
                throw new InvalidSpecException("ternary scale " + ternaryScale + " needs ternary weights, not "
                        + (weights == null ? "float weights" : weights.shortName()));
            }
            if (weights != null) {
                WeightQuantizers.check(weights);
                if (weightGradient == WeightGradient.LSQ && (weights.format() != Format.INT || !weights.symmetric())) {
                    throw new InvalidSpecException("LSQ weights use the symmetric INT grid, not " + weights.shortName());
                }
            }
            if (activations != null && activationGradient == ActivationGradient.LSQ_PLUS && activations.symmetric()) {
                throw new InvalidSpecException("LSQ+ learns an offset for asymmetric activations; "
                        + activations.shortName() + " is symmetric (use LSQ, or an asymmetric activation spec)");
            }
            if (!(averagingConstant > 0f && averagingConstant <= 1f)) {
                throw new InvalidSpecException("averaging constant must be in (0, 1], got " + averagingConstant);
            }
            if (!(percentile > 50 && percentile <= 100)) {
                throw new InvalidSpecException("observer percentile must be in (50, 100], got " + percentile);
            }
            if (histogramBins < 8) {
                throw new InvalidSpecException("observer histogram needs at least 8 bins, got " + histogramBins);
            }
            for (int i : floatLayers) {
                if (i < 0) {
                    throw new InvalidSpecException("float layer index must be >= 0, got " + i);
                }
            }
            return new QatConfig(this);
        }
    }
}
