package org.quant4j.qat;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

/**
 * A convolution followed by a DL4J {@code BatchNormalization} whose statistics are folded into the convolution's
 * weight, as PyTorch's fused QAT {@code ConvBn2d} does ({@code torch/ao/nn/intrinsic/qat/modules/conv_fused.py},
 * {@code _ConvBnNd._forward}; Jacob et al. 2018, sec. 3.2 and fig. C.8): per output channel
 * {@code s = γ / sqrt(running_var + ε)}, the weight is fake-quantized as {@code fq(W·s)}, and the convolution output
 * is divided back by {@code s}; the BN layer itself stays in the network and normalizes with batch statistics while
 * they are not frozen.
 *
 * <p>The running standard deviation is computed as DL4J's inference does: with {@code useLogStd} (DL4J's default)
 * {@code var = (10^log10stdev)²}, then {@code σ = sqrt(var + ε)}.
 */
final class BnFold {
    private final String bnName;
    private Layer bn;

    BnFold(String bnName, Layer bn) {
        this.bnName = bnName;
        this.bn = bn;
    }

    String bnName() {
        return bnName;
    }

    /** The BN layer implementation whose parameters are read. */
    Layer layer() {
        return bn;
    }

    /** The BN layer implementation whose parameters are read (updated when it is replaced). */
    void setLayer(Layer bn) {
        this.bn = bn;
    }

    private org.deeplearning4j.nn.conf.layers.BatchNormalization conf() {
        return (org.deeplearning4j.nn.conf.layers.BatchNormalization) bn.conf().getLayer();
    }

    /** The running standard deviation {@code σ} per channel, as DL4J's inference computes it. */
    float[] sigma() {
        org.deeplearning4j.nn.conf.layers.BatchNormalization c = conf();
        float[] var;
        if (c.isUseLogStd()) {
            float[] log = bn.getParam(BatchNormalizationParamInitializer.GLOBAL_LOG_STD).castTo(DataType.FLOAT).toFloatVector();
            var = new float[log.length];
            for (int i = 0; i < log.length; i++) {
                float std = (float) Math.pow(10.0, log[i]);
                var[i] = std * std;
            }
        } else {
            var = bn.getParam(BatchNormalizationParamInitializer.GLOBAL_VAR).castTo(DataType.FLOAT).toFloatVector();
        }
        float eps = (float) c.getEps();
        float[] sigma = new float[var.length];
        for (int i = 0; i < var.length; i++) {
            sigma[i] = (float) Math.sqrt(var[i] + eps);
        }
        return sigma;
    }

    float[] gamma() {
        int n = (int) conf().getNOut();
        if (conf().isLockGammaBeta()) {
            float[] g = new float[n];
            java.util.Arrays.fill(g, (float) conf().getGamma());
            return g;
        }
        return bn.getParam(BatchNormalizationParamInitializer.GAMMA).castTo(DataType.FLOAT).toFloatVector();
    }

    float[] beta() {
        int n = (int) conf().getNOut();
        if (conf().isLockGammaBeta()) {
            float[] b = new float[n];
            java.util.Arrays.fill(b, (float) conf().getBeta());
            return b;
        }
        return bn.getParam(BatchNormalizationParamInitializer.BETA).castTo(DataType.FLOAT).toFloatVector();
    }

    float[] mean() {
        return bn.getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN).castTo(DataType.FLOAT).toFloatVector();
    }

    /**
     * The per-output-channel scale {@code s = γ/σ}.
     *
     * @throws InvalidTensorException if a channel's {@code s} is zero or not finite (nothing to fold by)
     */
    float[] scale() {
        float[] g = gamma();
        float[] sigma = sigma();
        float[] s = new float[g.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = g[i] / sigma[i];
            if (s[i] == 0f || !Float.isFinite(s[i])) {
                throw new InvalidTensorException(bnName + ": channel " + i + " has gamma " + g[i] + " and running std "
                        + sigma[i] + ", so gamma/std = " + s[i] + " cannot scale the folded convolution weight");
            }
        }
        return s;
    }

    /** The folded bias {@code β + (b − μ)·γ/σ} of a convolution bias {@code b} (null: no bias). */
    float[] foldedBias(float[] convBias) {
        float[] s = scale();
        float[] beta = beta();
        float[] mu = mean();
        float[] out = new float[s.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = beta[i] + ((convBias == null ? 0f : convBias[i]) - mu[i]) * s[i];
        }
        return out;
    }

    /** {@code [out, in]} rows times {@code s} (a new array). */
    static INDArray scaleRows(INDArray outIn, float[] s) {
        return outIn.mulColumnVector(column(s, outIn.dataType()));
    }

    /** {@code [out, in]} rows divided by {@code s} (a new array). */
    static INDArray unscaleRows(INDArray outIn, float[] s) {
        return outIn.divColumnVector(column(s, outIn.dataType()));
    }

    private static INDArray column(float[] s, DataType type) {
        return Nd4j.create(s, new long[] {s.length, 1}, 'c').castTo(type);
    }
}
