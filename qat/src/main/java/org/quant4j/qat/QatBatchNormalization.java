package org.quant4j.qat;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

/**
 * DL4J's {@code BatchNormalization} (NCHW, after a folded convolution; in inference an identity, see
 * {@link FoldedConvWeightNoise}) with PyTorch's {@code freeze_bn_stats}: from
 * iteration {@code freezeAfter} on, training passes normalize with the running statistics (as inference does) and no
 * longer update them, as {@code _ConvBnNd} does once {@code freeze_bn} is set ({@code bn.training = False});
 * γ and β keep training. Before that it is DL4J's own layer (batch statistics, running averages updated). Optionally it
 * fake-quantizes its output ({@link OutputQuantization}): DL4J's BatchNormalization ignores its activation function, so
 * the output of a fused conv+BN is quantized here when no activation layer follows.
 *
 * <p>Frozen backward, with {@code x̂ = (x − μ)/σ} and {@code μ, σ} constants: {@code ∂L/∂β = Σ ε},
 * {@code ∂L/∂γ = Σ ε·x̂}, {@code ∂L/∂x = ε·γ/σ} (sums over batch and positions), zero for the running statistics.
 */
final class QatBatchNormalization extends BatchNormalization {
    private final int freezeAfter;
    private final boolean convHasBias;
    private final BnFold stats;
    private final OutputQuantization output;

    /**
     * @param freezeAfter iterations after which the statistics freeze; negative: never
     * @param output      output fake quantization, or null
     */
    QatBatchNormalization(NeuralNetConfiguration conf, DataType dataType, int freezeAfter, boolean convHasBias,
                          OutputQuantization output) {
        super(conf, dataType);
        this.freezeAfter = freezeAfter;
        this.convHasBias = convHasBias;
        this.stats = new BnFold(layerId(), this);
        this.output = output;
    }

    OutputQuantization output() {
        return output;
    }

    /** True once training passes use the running statistics. */
    boolean frozen() {
        return freezeAfter >= 0 && getIterationCount() >= freezeAfter;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        INDArray y = training ? super.activate(!frozen(), workspaceMgr) : folded(workspaceMgr);
        return output == null ? y : output.forward(y, training, workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        INDArray eps = output == null ? epsilon : output.backward(epsilon);
        if (!frozen()) {
            return super.backpropGradient(eps, workspaceMgr);
        }
        if (input.rank() != 4 || layerConf().getCnn2DFormat() != org.deeplearning4j.nn.conf.CNN2DFormat.NCHW) {
            throw new InvalidTensorException(layerId() + ": frozen batch-norm statistics are implemented for NCHW "
                    + "convolution activations, got rank " + input.rank());
        }
        INDArray x = input.castTo(eps.dataType()).dup();
        INDArray xHat = Broadcast.div(Broadcast.sub(x, column(stats.mean(), x.dataType()), x, 1),
                column(stats.sigma(), x.dataType()), x, 1);
        Gradient gradient = new DefaultGradient();
        if (!layerConf().isLockGammaBeta()) {
            INDArray dGamma = gradientViews.get(BatchNormalizationParamInitializer.GAMMA);
            INDArray dBeta = gradientViews.get(BatchNormalizationParamInitializer.BETA);
            dBeta.assign(eps.sum(0, 2, 3).reshape(dBeta.shape()));
            dGamma.assign(eps.mul(xHat).sum(0, 2, 3).reshape(dGamma.shape()));
            gradient.setGradientFor(BatchNormalizationParamInitializer.GAMMA, dGamma);
            gradient.setGradientFor(BatchNormalizationParamInitializer.BETA, dBeta);
        }
        for (String key : new String[] {BatchNormalizationParamInitializer.GLOBAL_MEAN,
                layerConf().isUseLogStd() ? BatchNormalizationParamInitializer.GLOBAL_LOG_STD
                        : BatchNormalizationParamInitializer.GLOBAL_VAR}) {
            INDArray view = gradientViews.get(key);
            view.assign(0);
            gradient.setGradientFor(key, view);
        }
        float[] s = stats.scale();
        INDArray dx = Broadcast.mul(eps, column(s, eps.dataType()), eps.ulike(), 1);
        return new Pair<>(gradient, workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, dx));
    }

    /**
     * Inference: the convolution before this layer already computed {@code conv(x, fq(W·s))} plus the folded bias
     * ({@link FoldedConvWeightNoise}); without a convolution bias, the folded bias {@code β − μ·s} is added here.
     */
    private INDArray folded(LayerWorkspaceMgr workspaceMgr) {
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(), input.shape(), input.ordering());
        if (convHasBias) {
            return out.assign(input);
        }
        return Broadcast.add(input, column(stats.foldedBias(null), input.dataType()), out, 1);
    }

    private static INDArray column(float[] v, DataType type) {
        return Nd4j.create(v).castTo(type);
    }
}
