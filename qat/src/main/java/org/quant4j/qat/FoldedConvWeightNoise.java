package org.quant4j.qat;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.io.CorruptFileException;

/**
 * The weight of a convolution whose following BatchNormalization is folded ({@link BnFold}): DL4J's convolution
 * receives {@code fq(W·s)/s}. Since {@code s} is per output channel and convolution is linear in its weight,
 * {@code conv(x, fq(W·s)/s) = conv(x, fq(W·s))/s}: exactly the {@code conv_orig} of PyTorch's {@code _ConvBnNd._forward}
 * (the convolution bias, if any, is added after it as there). Backward: DL4J's weight gradient at {@code fq(W·s)/s}
 * goes to {@code W} unchanged, the straight-through estimator of {@code W ↦ fq(W·s)/s} (identity inside the grid).
 *
 * <p>Inference passes compute the folded form itself, as {@link Qat#convert} stores it: weight {@code fq(W·s)}, bias
 * {@code β + (b − μ)·s}, and the BN layer ({@link QatBatchNormalization}) passes its input through (adding the folded
 * bias when the convolution has none). With running statistics this equals conv → BN mathematically; computing it in
 * the folded order makes the converted network reproduce it to the last bit, also where a following activation
 * quantizer would turn a float rounding difference into a whole step.
 *
 * <p>It also carries the BN's name and the quantizer of the BN's output (null if none), which DL4J's configuration
 * JSON then saves; the link to the BN layer ({@link BnFold}) and the BN's implementation ({@link QatBatchNormalization})
 * are runtime objects that {@link Qat#rearm} restores after {@code ModelSerializer} restored the network.
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
final class FoldedConvWeightNoise implements IWeightNoise {
    private static final long serialVersionUID = 1L;
    static final String BIAS_KEY = "b";

    private final FakeQuantWeightNoise inner;
    private final String bnName;
    private final ActivationQuantizer bnOutput;
    private transient BnFold fold;

    /**
     * @param bnName   the folded BN layer's name ({@link QatNetwork#name})
     * @param bnOutput quantizer of the BN's output, or null
     */
    FoldedConvWeightNoise(FakeQuantWeightNoise inner, String bnName, ActivationQuantizer bnOutput) {
        this.inner = inner;
        this.bnName = bnName;
        this.bnOutput = bnOutput;
    }

    @JsonCreator
    static FoldedConvWeightNoise fromJson(@JsonProperty("inner") FakeQuantWeightNoise inner,
                                          @JsonProperty("bnName") String bnName,
                                          @JsonProperty("bnOutputQuantizerState") String bnOutput) {
        if (inner == null || bnName == null) {
            throw new CorruptFileException((inner == null ? "a folded convolution" : inner.layerName())
                    + ": the saved FoldedConvWeightNoise lacks its " + (inner == null ? "weight quantizer" : "BN name"));
        }
        return new FoldedConvWeightNoise(inner, bnName, bnOutput == null ? null
                : QuantizerState.decode(bnOutput, ActivationQuantizer.class, bnName, "output quantizer"));
    }

    @JsonProperty("inner")
    private FakeQuantWeightNoise jsonInner() {
        return inner;
    }

    @JsonProperty("bnName")
    String bnName() {
        return bnName;
    }

    @JsonProperty("bnOutputQuantizerState")
    private String jsonBnOutput() {
        return QuantizerState.encode(bnOutput);
    }

    /** The quantizer of the BN's output, or null. */
    ActivationQuantizer bnOutput() {
        return bnOutput;
    }

    /** Links the BN layer whose statistics are folded (done by {@link QatArming}). */
    void link(BnFold fold) {
        this.fold = fold;
    }

    private BnFold requireFold() {
        if (fold == null) {
            throw new QuantizationException(inner.layerName() + ": its folded BatchNormalization '"
                    + bnName + "' is not linked, as after ModelSerializer.restore...; re-arm the network with "
                    + "Qat.rearm(net), or restore it with Qat.restoreMultiLayerNetwork / Qat.restoreComputationGraph");
        }
        return fold;
    }

    FakeQuantWeightNoise inner() {
        return inner;
    }

    /** The link to the BN layer. */
    BnFold fold() {
        return requireFold();
    }

    boolean linked() {
        return fold != null;
    }

    @Override
    public INDArray getParameter(Layer layer, String paramKey, int iteration, int epoch, boolean train,
                                 LayerWorkspaceMgr workspaceMgr) {
        INDArray w = layer.getParam(paramKey);
        if (!FakeQuantWeightNoise.WEIGHT_KEY.equals(paramKey)) {
            if (!train && BIAS_KEY.equals(paramKey) && w != null) { // DL4J asks for "b" even without a bias
                float[] b = requireFold().foldedBias(w.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).toFloatVector());
                return org.nd4j.linalg.factory.Nd4j.create(b).reshape(w.shape()).castTo(w.dataType());
            }
            return w;
        }
        if (train && inner.quantizer() instanceof LsqWeightQuantizer lsq) {
            lsq.beginTrainingPass(iteration);
        }
        float[] s = requireFold().scale();
        INDArray scaled = WeightLayout.CONVOLUTION.toDl4j(BnFold.scaleRows(WeightLayout.CONVOLUTION.outIn(w), s), w.shape());
        INDArray q = inner.fakeQuantize(scaled, iteration);
        if (!train) {
            return q; // inference: the folded weight itself, the BN layer is then an identity (QatBatchNormalization)
        }
        return WeightLayout.CONVOLUTION.toDl4j(BnFold.unscaleRows(WeightLayout.CONVOLUTION.outIn(q), s), w.shape());
    }

    /** The weight {@code W·s} the fake quantizer quantizes, in {@code [out, in...]} layout. */
    INDArray scaledWeight(INDArray outIn) {
        return BnFold.scaleRows(outIn, requireFold().scale());
    }

    @Override
    public IWeightNoise clone() {
        FoldedConvWeightNoise clone = new FoldedConvWeightNoise(inner, bnName, bnOutput);
        clone.fold = fold;
        return clone;
    }
}
