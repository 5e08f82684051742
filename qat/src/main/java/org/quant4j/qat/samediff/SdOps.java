package org.quant4j.qat.samediff;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.quant4j.core.NumberEncoding;

/**
 * SameDiff building blocks of the fake quantizers, each checked by {@code SameDiffOpsProbeTest} on 1.0.0-M2.1:
 * {@code stop_gradient} has zero gradient, {@code clip_by_value} passes the gradient strictly inside its bounds,
 * {@code round} rounds half away from zero (not IntGrid's half to even) and ND4J's {@code rint} has no gradient
 * function at all (SameDiff differentiates it even under a stop-gradient and fails), so rounding here is
 * IntGrid's own {@code (x + 1.5·2^23) - 1.5·2^23}; float→half/bfloat16 casts round to nearest even like core's
 * {@code NumberEncodings.round}.
 *
 * <p>Every straight-through construct is {@code sg(value) + (surrogate - sg(surrogate))}: its forward value is
 * {@code value} bit for bit ({@code t - t = 0}, {@code v + 0 = v}), unlike {@code x + sg(q(x) - x)}, whose
 * rounding can move the result by an ulp; its gradient is the surrogate's.
 */
final class SdOps {
    /** {@code 1.5·2^23}: a float sum with it has no fraction bits (round half to even for |x| <= 2^22). */
    static final double FLOAT_ROUNDER = 0x1.8p23;
    /** {@code 1.5·2^52}: the same for doubles. */
    static final double DOUBLE_ROUNDER = 0x1.8p52;

    private SdOps() {}

    static SDVariable stop(SameDiff sd, SDVariable x) {
        return new StopGradient(sd, x).outputVariable();
    }

    /** Forward {@code value} exactly, backward the gradient of {@code surrogate}. */
    static SDVariable straightThrough(SameDiff sd, SDVariable value, SDVariable surrogate) {
        return stop(sd, value).add(surrogate.sub(stop(sd, surrogate)));
    }

    /** Round half to even of a float tensor with {@code |x| <= 2^22} (callers clamp first); no gradient. */
    static SDVariable rint(SameDiff sd, SDVariable x) {
        return stop(sd, x.add(FLOAT_ROUNDER).sub(FLOAT_ROUNDER));
    }

    /** Round half to even of a double tensor with {@code |x| <= 2^51}; no gradient. */
    static SDVariable rintDouble(SameDiff sd, SDVariable x) {
        return stop(sd, x.add(DOUBLE_ROUNDER).sub(DOUBLE_ROUNDER));
    }

    /** {@code mask ? a : b} for a float 0/1 mask and finite a, b (exact: {@code 1·a + 0·b = a}). */
    static SDVariable select(SDVariable mask, SDVariable a, SDVariable b) {
        return a.mul(mask).add(b.mul(mask.rsub(1.0)));
    }

    /** 1 where {@code a < b}, else 0, as floats. */
    static SDVariable less(SDVariable a, SDVariable b) {
        return a.lt(b).castTo(DataType.FLOAT);
    }

    /**
     * The smallest float {@code >= d} for a positive double tensor {@code d} (IntGrid's "{@code (float) exact},
     * then {@code nextUp} if below"). If {@code f0 = RN(d) < d}, then {@code d ∈ (f0, f0 + ulp/2]} and
     * {@code RN(d·(1 + 2^-24))} lies strictly between the midpoints around {@code f0 + ulp}, which it therefore is.
     */
    static SDVariable roundUpToFloat(SDVariable d) {
        SDVariable f0 = d.castTo(DataType.FLOAT);
        SDVariable up = d.mul(1.0 + 0x1p-24).castTo(DataType.FLOAT);
        return select(less(f0.castTo(DataType.DOUBLE), d).castTo(DataType.FLOAT), up, f0);
    }

    /**
     * Core's {@code NumberEncodings.roundUp(e, f)} for positive float scales and {@code e} FP32, FP16 or BF16: the
     * smallest value of the encoding {@code >= f}. Same argument as {@link #roundUpToFloat} with the encoding's
     * {@code 2^-(p+1)} (p mantissa bits) and float arithmetic, whose 13 (FP16) or 16 (BF16) extra bits keep the
     * product off the midpoints; FP16 subnormals ({@code f < 2^-14}) are {@code ceil(f·2^24)·2^-24}. Values above
     * the encoding's range become infinite (core refuses them when converting).
     */
    static SDVariable roundUp(SameDiff sd, SDVariable f, NumberEncoding e) {
        return switch (e) {
            case FP32 -> f;
            case FP16 -> {
                SDVariable h0 = f.castTo(DataType.HALF).castTo(DataType.FLOAT);
                SDVariable up = f.mul(1.0 + 0x1p-11).castTo(DataType.HALF).castTo(DataType.FLOAT);
                SDVariable normal = select(less(h0, f), up, h0);
                SDVariable subnormal = sd.math().ceil(f.mul(0x1p24)).mul(0x1p-24);
                yield select(f.lt(0x1p-14).castTo(DataType.FLOAT), subnormal, normal);
            }
            case BF16 -> {
                SDVariable b0 = f.castTo(DataType.BFLOAT16).castTo(DataType.FLOAT);
                SDVariable up = f.mul(1.0 + 0x1p-8).castTo(DataType.BFLOAT16).castTo(DataType.FLOAT);
                yield select(less(b0, f), up, b0);
            }
            default -> throw new IllegalArgumentException("no in-graph rounding to " + e);
        };
    }

    /** Core's {@code NumberEncodings.round(e, f)} (nearest, ties to even) for FP32, FP16 and BF16. */
    static SDVariable roundTo(SDVariable f, NumberEncoding e) {
        return switch (e) {
            case FP32 -> f;
            case FP16 -> // ND4J's cast overflows to ∞ where core saturates to the largest half
                    f.getSameDiff().math().clipByValue(f.castTo(DataType.HALF).castTo(DataType.FLOAT), -65504.0, 65504.0);
            case BF16 -> f.castTo(DataType.BFLOAT16).castTo(DataType.FLOAT);
            default -> throw new IllegalArgumentException("no in-graph rounding to " + e);
        };
    }

    /** The smallest positive value core's LSQ stores a step as ({@code NumberEncodings.roundUp(e, Float.MIN_NORMAL)}). */
    static float smallestStep(NumberEncoding e) {
        return e == NumberEncoding.FP16 ? 0x1p-24f : Float.MIN_NORMAL;
    }

    /** Whether scales in {@code e} can be rounded in the graph. */
    static boolean supported(NumberEncoding e) {
        return e == NumberEncoding.FP32 || e == NumberEncoding.FP16 || e == NumberEncoding.BF16;
    }
}
