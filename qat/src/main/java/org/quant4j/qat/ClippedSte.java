package org.quant4j.qat;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The clipped-STE backward pass of a fake-quantized activation {@code â = q(f(z))} in one pass over raw floats:
 * {@code ∂L/∂z = f'(z) · ∂L/∂â · [rint((f(z) - offset)/s) ∈ [-zero, 2^b-1-zero]]} (PyTorch's
 * {@code fake_quantize_per_tensor_affine} backward, as {@link ClippingMask#roundedCodeInRange}: the mask is the same
 * float test, evaluated element by element). For the identity and DL4J's plain ReLU ({@code f'(z) = [z > 0]}) the
 * activation and its derivative are computed in the same loop; other activations are evaluated by DL4J first.
 * Masked elements get {@code ε·0}, as the ND4J product with the mask gives.
 */
final class ClippedSte {
    /** {@code 1.5·2^23}: a float sum with it has no fraction bits (round half to even, like ND4J's rint). */
    private static final float ROUNDER = 0x1.8p23f;

    private float[] values;
    private float[] grads;
    private float[] scratch;

    /** {@code ∂L/∂z} for {@code in = z} and {@code epsilon = ∂L/∂â}; may overwrite {@code in} (as DL4J's own activations do). */
    Pair<INDArray, INDArray> backprop(IActivation inner, AffineGrid g, INDArray in, INDArray epsilon) {
        int n = (int) in.length();
        boolean relu = plainRelu(inner);
        boolean fused = relu || inner instanceof ActivationIdentity;
        INDArray a = fused ? in : inner.getActivation(in.dup(), true); // in, or our copy: either may be overwritten
        values = RawFloats.capacity(values, n);
        grads = RawFloats.capacity(grads, n);
        INDArray out;
        if (RawFloats.sameLayout(a, epsilon)) { // element by element in memory order
            RawFloats.read(a, values);
            RawFloats.read(epsilon, grads);
            out = a;
        } else { // e.g. DL4J's permuted NCHW pre-activation against a 'c'-order epsilon: both in logical 'c' order
            scratch = RawFloats.readInCOrder(a, values, scratch);
            scratch = RawFloats.readInCOrder(epsilon, grads, scratch);
            out = RawFloats.dense(a, 'c') ? a : Nd4j.createUninitialized(DataType.FLOAT, a.shape(), 'c');
        }
        mask(g, n, relu);
        RawFloats.write(grads, out); // the caller's epsilon stays untouched
        return fused ? new Pair<>(out, null) : inner.backprop(in, out);
    }

    /** Whether both arrays can take the raw path together (float32 of the same shape, small enough for a Java array). */
    static boolean applicable(INDArray in, INDArray epsilon) {
        return in.dataType() == DataType.FLOAT && epsilon.dataType() == DataType.FLOAT && !in.isEmpty()
                && java.util.Arrays.equals(in.shape(), epsilon.shape()) && in.length() <= Integer.MAX_VALUE - 8;
    }

    /** DL4J's ReLU without threshold, negative slope or cap: {@code f(z) = z > 0 ? z : 0}, {@code f'(z) = [z > 0]}. */
    static boolean plainRelu(IActivation inner) {
        return inner instanceof ActivationReLU r && r.getMax() == null
                && (r.getThreshold() == null || r.getThreshold() == 0.0)
                && (r.getNegativeSlope() == null || r.getNegativeSlope() == 0.0);
    }

    /** {@code grads[i] *= inside(values[i])} (times {@code [values[i] > 0]} for ReLU), for {@code i < n}. */
    private void mask(AffineGrid g, int n, boolean relu) {
        float[] v = values;
        float[] e = grads;
        float s = g.scale();
        float offset = g.offset();
        float low = g.low();
        float high = g.high();
        // clamping to [low - 1, high + 1] keeps in/out decisions and |u| small enough for the ROUNDER trick
        float lo = low - 1f;
        float hi = high + 1f;
        for (int i = 0; i < n; i++) {
            float x = v[i];
            float a = relu ? (x > 0f ? x : 0f) : x;
            float u = Math.min(Math.max((a - offset) / s, lo), hi);
            float q = (u + ROUNDER) - ROUNDER;
            boolean pass = q >= low && q <= high;
            float masked = pass ? e[i] : e[i] * 0f;
            e[i] = relu ? (x > 0f ? masked : 0f) : masked;
        }
    }
}
