package org.quant4j.model;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

/**
 * Moving AWQ's input scales {@code s} between a layer and the op before it so that the float model
 * computes the same function (Lin et al. 2024, §3.2: the scaling is fused into the previous operator;
 * AutoAWQ {@code scale_ln_fcs}, {@code scale_fc_fc}): the layers that read {@code x} get
 * {@code W·diag(s)} ({@link #scaleColumns}) and the producer of {@code x} is divided by {@code s}:
 * <ul>
 *   <li>a LayerNorm {@code y = γ∘x̂ + β}: {@code γ/s} and {@code β/s} ({@link #foldIntoLayerNorm});</li>
 *   <li>a linear layer {@code y = W_p·x + b_p} (one row per channel of {@code x}), with only linear ops
 *       between it and the scaled layers (e.g. V before the attention output projection, since the
 *       attention mix is linear in V): row {@code c} of {@code W_p} and {@code b_p[c]} divided by
 *       {@code s_c} ({@link #foldIntoPreviousLinear}).</li>
 * </ul>
 * A non-linear activation in between (GELU between the FFN projections) cannot absorb the scale; there
 * the caller divides the activation's output by {@code s} (AutoAWQ's {@code ScaledActivation}) or keeps
 * the float weight {@link InputScaledTensor#effectiveWeight()}. Weights are {@code [out, in]}. All
 * methods return new arrays and leave their arguments unchanged.
 */
public final class AwqFolding {
    private AwqFolding() {}

    /** The folded parameters of a LayerNorm. */
    public record LayerNormParams(INDArray gamma, INDArray beta) {}

    /** The folded parameters of a linear layer; {@code bias} is null when the layer has none. */
    public record LinearParams(INDArray weight, INDArray bias) {}

    /** {@code W·diag(s)}: column {@code c} of the {@code [out, in]} weight multiplied by {@code s[c]}. */
    public static INDArray scaleColumns(INDArray w, float[] s) {
        checkVector("input scales", s, w.rank() == 2 ? w.size(1) : -1, "weight " + Arrays.toString(w.shape()));
        INDArray out = w.castTo(DataType.FLOAT).dup('c');
        return out.muliRowVector(Nd4j.create(s, new long[] {1, s.length}, 'c'));
    }

    /** {@code W·diag(1/s)}, a new float array: column {@code c} of the {@code [rows, in]} matrix divided by {@code s[c]}. */
    public static INDArray unscaleColumns(INDArray w, float[] s) {
        checkVector("input scales", s, w.rank() == 2 ? w.size(1) : -1, "matrix " + Arrays.toString(w.shape()));
        return w.castTo(DataType.FLOAT).dup('c').muliRowVector(inverse(s).reshape(1, s.length));
    }

    /** {@code γ/s}, {@code β/s} of the LayerNorm that produces the scaled layers' input. */
    public static LayerNormParams foldIntoLayerNorm(INDArray gamma, INDArray beta, float[] s) {
        checkVector("LayerNorm gamma", s, gamma.length(), "gamma " + Arrays.toString(gamma.shape()));
        if (beta.length() != gamma.length()) {
            throw new InvalidTensorException("LayerNorm beta has " + beta.length() + " values, gamma " + gamma.length());
        }
        INDArray inverse = inverse(s);
        return new LayerNormParams(gamma.castTo(DataType.FLOAT).reshape(s.length).mul(inverse).reshape(gamma.shape()),
                beta.castTo(DataType.FLOAT).reshape(s.length).mul(inverse).reshape(beta.shape()));
    }

    /**
     * Divides row {@code c} of the producing linear layer ({@code [in, inPrev]}: one row per input channel
     * of the scaled layers) and its bias entry (may be null) by {@code s[c]}.
     */
    public static LinearParams foldIntoPreviousLinear(INDArray weight, INDArray bias, float[] s) {
        checkVector("previous linear rows", s, weight.rank() == 2 ? weight.size(0) : -1,
                "previous weight " + Arrays.toString(weight.shape()));
        INDArray inverse = inverse(s);
        INDArray w = weight.castTo(DataType.FLOAT).dup('c').muliColumnVector(inverse.reshape(s.length, 1));
        INDArray b = null;
        if (bias != null) {
            if (bias.length() != s.length) {
                throw new InvalidTensorException("previous linear bias has " + bias.length() + " values, expected "
                        + s.length);
            }
            b = bias.castTo(DataType.FLOAT).reshape(s.length).mul(inverse).reshape(bias.shape());
        }
        return new LinearParams(w, b);
    }

    /** {@code 1/s} as a float vector {@code [n]}. */
    public static INDArray inverse(float[] s) {
        float[] inv = new float[s.length];
        for (int c = 0; c < s.length; c++) {
            inv[c] = 1f / s[c];
        }
        return Nd4j.create(inv, new long[] {s.length}, 'c');
    }

    private static void checkVector(String what, float[] s, long expected, String against) {
        if (s.length != expected) {
            throw new InvalidTensorException(what + ": " + s.length + " scales do not match " + against);
        }
        for (int c = 0; c < s.length; c++) {
            if (!(s[c] > 0) || Float.isInfinite(s[c])) {
                throw new InvalidTensorException("input scale " + c + " is " + s[c] + "; scales must be finite and > 0");
            }
        }
    }
}
