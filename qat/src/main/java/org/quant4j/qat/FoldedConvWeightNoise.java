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
 */
final class FoldedConvWeightNoise implements IWeightNoise {
    private static final long serialVersionUID = 1L;

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
            return w;
        }
        if (train && inner.quantizer() instanceof LsqWeightQuantizer lsq) {
            lsq.beginTrainingPass(iteration);
        }
        float[] s = fold.scale();
        INDArray scaled = WeightLayout.CONVOLUTION.toDl4j(BnFold.scaleRows(WeightLayout.CONVOLUTION.outIn(w), s), w.shape());
        INDArray q = inner.fakeQuantize(scaled, iteration);
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
