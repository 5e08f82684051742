package org.quant4j.core.formats;

import org.quant4j.core.Half;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;

/**
 * How the block scales of the float formats are chosen. Every rule returns a value that is exactly
 * representable in its encoding and never 0, so elements can always be divided by it.
 */
final class ScaleRules {
    /** NVFP4's per-tensor scale maps the tensor amax to E4M3 max × E2M1 max. */
    static final float NVFP4_GLOBAL_RANGE = 448f * 6f;

    private ScaleRules() {}

    /**
     * Absmax scaling: {@code amax / elementMax} rounded to {@code encoding} (amax 0 gives 1). A result
     * that underflows to 0 becomes the encoding's smallest positive value; one that rounds below the
     * exact quotient only makes the largest elements saturate.
     */
    static float absmax(float amax, float elementMax, NumberEncoding encoding) {
        if (amax == 0) {
            return 1f;
        }
        float s = NumberEncodings.round(encoding, amax / elementMax);
        return s > 0 ? s : smallestPositive(encoding);
    }

    /**
     * OCP MX v1.0 sec. 6.3 shared scale: {@code X = 2^(floor(log2(amax)) - emax_elem)}, the exponent
     * clamped to the E8M0 range [-127, 127]. As in microsoft/microxcaling ({@code _shared_exponents}),
     * amax 0 counts as the smallest normal float, so it gets the clamped 2^-127. A finite amax never
     * reaches the upper clamp (the E8M0 NaN case).
     */
    static float mx(float amax, MiniFloat element) {
        int floorLog2 = amax >= Float.MIN_NORMAL ? Math.getExponent(amax) : Float.MIN_EXPONENT - 1;
        int sharedExp = Math.max(-127, Math.min(127, floorLog2 - element.emax()));
        return Math.scalb(1f, sharedExp);
    }

    /**
     * NVFP4 per-tensor FP32 scale {@code amax / (448·6)} (NVIDIA TensorRT Model Optimizer,
     * {@code NVFP4QTensor.get_weights_scaling_factor_2}); 1 for an all-zero tensor. For a tensor whose
     * amax is below {@code 448·6·2^-126} (≈ 3e-35) it is raised to the smallest normal float 2^-126, so
     * that {@code blockScale · g} never underflows to 0 and stays exact for the smallest block scales.
     */
    static float nvfp4Global(float tensorAmax) {
        if (tensorAmax == 0) {
            return 1f;
        }
        return Math.max(Float.MIN_NORMAL, tensorAmax / NVFP4_GLOBAL_RANGE);
    }

    /**
     * NVFP4 block scale {@code E4M3(amax_block / (6 · global))} (Model Optimizer
     * {@code get_weights_scaling_factor}; an all-zero block gets 1 as there). A block so small that its
     * scale rounds to E4M3 zero gets the smallest E4M3 subnormal 2^-9 instead, so its elements are
     * still quantized (to within half an E2M1 step of that scale) rather than divided by zero.
     */
    static float nvfp4Block(float blockAmax, float global) {
        if (blockAmax == 0) {
            return 1f;
        }
        float s = NumberEncodings.round(NumberEncoding.E4M3, blockAmax / (6f * global));
        return s > 0 ? s : MiniFloat.E4M3.minSubnormal();
    }

    /** Smallest positive value of a scale encoding. */
    static float smallestPositive(NumberEncoding encoding) {
        return switch (encoding) {
            case FP32 -> Float.MIN_VALUE;
            case FP16 -> Half.toFloat(1);
            case BF16 -> NumberEncodings.bf16ToFloat(1);
            case E4M3 -> MiniFloat.E4M3.minSubnormal();
            case E8M0 -> NumberEncodings.e8m0ToFloat(0);
            case UINT, DQ8 -> throw new IllegalArgumentException(encoding + " is not a float scale encoding");
        };
    }
}
