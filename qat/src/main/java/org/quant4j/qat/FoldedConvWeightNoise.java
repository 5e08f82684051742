package org.quant4j.qat;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

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
 */
final class FoldedConvWeightNoise implements IWeightNoise {
    private static final long serialVersionUID = 1L;
    static final String BIAS_KEY = "b";

    private final FakeQuantWeightNoise inner;
    private final transient BnFold fold;

    FoldedConvWeightNoise(FakeQuantWeightNoise inner, BnFold fold) {
        this.inner = inner;
        this.fold = fold;
    }

    FakeQuantWeightNoise inner() {
        return inner;
    }

    BnFold fold() {
        return fold;
    }

    @Override
    public INDArray getParameter(Layer layer, String paramKey, int iteration, int epoch, boolean train,
                                 LayerWorkspaceMgr workspaceMgr) {
        INDArray w = layer.getParam(paramKey);
        if (!FakeQuantWeightNoise.WEIGHT_KEY.equals(paramKey)) {
            if (!train && BIAS_KEY.equals(paramKey) && w != null) { // DL4J asks for "b" even without a bias
                float[] b = fold.foldedBias(w.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).toFloatVector());
                return org.nd4j.linalg.factory.Nd4j.create(b).reshape(w.shape()).castTo(w.dataType());
            }
            return w;
        }
        if (train && inner.quantizer() instanceof LsqWeightQuantizer lsq) {
            lsq.beginTrainingPass(iteration);
        }
        float[] s = fold.scale();
        INDArray scaled = WeightLayout.CONVOLUTION.toDl4j(BnFold.scaleRows(WeightLayout.CONVOLUTION.outIn(w), s), w.shape());
        INDArray q = inner.fakeQuantize(scaled, iteration);
        if (!train) {
            return q; // inference: the folded weight itself, the BN layer is then an identity (QatBatchNormalization)
        }
        return WeightLayout.CONVOLUTION.toDl4j(BnFold.unscaleRows(WeightLayout.CONVOLUTION.outIn(q), s), w.shape());
    }

    /** The weight {@code W·s} the fake quantizer quantizes, in {@code [out, in...]} layout. */
    INDArray scaledWeight(INDArray outIn) {
        return BnFold.scaleRows(outIn, fold.scale());
    }

    @Override
    public IWeightNoise clone() {
        return new FoldedConvWeightNoise(inner, fold);
    }
}
