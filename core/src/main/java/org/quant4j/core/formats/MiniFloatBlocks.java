package org.quant4j.core.formats;

import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * Block-scaled quantization to a {@link MiniFloat} element format, shared by {@link Fp8Codec} and
 * {@link Fp4Codec}. The scale rule follows the scale encoding:
 * <ul>
 *   <li>E8M0: the OCP MX v1.0 sec. 6.3 power-of-two shared scale ({@link ScaleRules#mx});</li>
 *   <li>E4M3 with FP4 elements: NVFP4's two levels, an FP32 per-tensor scale and E4M3 block scales
 *       ({@link ScaleRules#nvfp4Global}, {@link ScaleRules#nvfp4Block});</li>
 *   <li>otherwise: {@code amax / elementMax} rounded to the encoding ({@link ScaleRules#absmax}).</li>
 * </ul>
 * Elements are {@code encode(x / divisor)} with the stored (decoded) scale as divisor — times the
 * global scale for NVFP4 — so the error of every element is bounded by half a step of the element
 * format at {@code |x / divisor|}, or by the saturation {@code |x| - max · divisor}.
 */
final class MiniFloatBlocks {
    private MiniFloatBlocks() {}

    static QuantizedTensor quantize(float[] data, long[] shape, QuantSpec spec, MiniFloat element) {
        int blockLength = BlockCodes.blockLength(shape, spec);
        float[] amax = BlockCodes.absMax(data, blockLength);
        NumberEncoding encoding = spec.scaleEncoding();
        boolean twoLevel = isTwoLevel(spec);
        float global = 1f;
        if (twoLevel) {
            float tensorAmax = 0;
            for (float a : amax) {
                tensorAmax = Math.max(tensorAmax, a);
            }
            global = ScaleRules.nvfp4Global(tensorAmax);
        }
        float[] scale = new float[amax.length];
        for (int b = 0; b < amax.length; b++) {
            scale[b] = encoding == NumberEncoding.E8M0 ? ScaleRules.mx(amax[b], element)
                    : twoLevel ? ScaleRules.nvfp4Block(amax[b], global)
                    : ScaleRules.absmax(amax[b], element.max(), encoding);
        }
        EncodedArray scales = EncodedArray.encode(encoding, 0, scale);
        float[] divisor = scales.values().clone();
        for (int b = 0; b < divisor.length; b++) {
            divisor[b] *= global;
        }
        byte[] codes = element.bits() == 8
                ? BlockCodes.encode8(data, blockLength, divisor, element)
                : BlockCodes.encode4(data, blockLength, divisor, element);
        return new QuantizedTensor(spec, shape, codes, scales, null, global);
    }

    static void dequantize(QuantizedTensor t, MiniFloat element, float[] out) {
        if (element.bits() == 8) {
            BlockCodes.decode8(t, element, out);
        } else {
            BlockCodes.decode4(t, element, out);
        }
    }

    /** NVFP4: FP4 elements under E4M3 block scales and an FP32 per-tensor scale. */
    static boolean isTwoLevel(QuantSpec spec) {
        return spec.format() == Format.FP4_E2M1 && spec.scaleEncoding() == NumberEncoding.E4M3;
    }
}
