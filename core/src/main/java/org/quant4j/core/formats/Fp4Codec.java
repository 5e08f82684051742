package org.quant4j.core.formats;

import org.quant4j.core.Format;
import org.quant4j.core.FormatCodec;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * FP4 E2M1 elements (OCP MX v1.0), packed two per byte, under one of three scale schemes chosen by the
 * spec's scale encoding:
 * <ul>
 *   <li><b>MXFP4</b> (E8M0, blocks of 32 by default): OCP MX v1.0 sec. 6.3 — {@code shared_exp =
 *       floor(log2(amax)) - 2} (2 = emax of E2M1), {@code X = 2^shared_exp} clamped to the E8M0 range,
 *       elements {@code E2M1(x / X)} with saturation, as microsoft/microxcaling {@code _quantize_mx}
 *       with {@code round="even"}. Since {@code amax / X} lies in [4, 8), the error of an element is at
 *       most {@code max(X, |x|) / 4}.</li>
 *   <li><b>NVFP4</b> (E4M3, blocks of 16): two levels as NVIDIA's recipe (TensorRT Model Optimizer
 *       {@code NVFP4QTensor}): an FP32 per-tensor scale {@code g = amax_tensor / (448·6)} kept in
 *       {@link QuantizedTensor#globalScale()}, E4M3 block scales {@code s = E4M3(amax_block / (6·g))},
 *       elements {@code E2M1(x / (s·g))}, values {@code decode · s · g}. A block whose scale rounds to
 *       E4M3 zero gets the smallest E4M3 subnormal; an all-zero block gets 1; {@code g} is at least
 *       2^-126 (see {@link ScaleRules#nvfp4Global}).</li>
 *   <li>FP32 / FP16 / BF16: {@code scale = amax / 6} rounded to the encoding.</li>
 * </ul>
 */
public final class Fp4Codec implements FormatCodec {
    @Override
    public QuantizedTensor quantize(float[] data, long[] shape, QuantSpec spec) {
        requireFp4(spec.format());
        return MiniFloatBlocks.quantize(data, shape, spec, MiniFloat.E2M1);
    }

    @Override
    public void dequantize(QuantizedTensor t, float[] out) {
        requireFp4(t.spec().format());
        MiniFloatBlocks.dequantize(t, MiniFloat.E2M1, out);
    }

    private static void requireFp4(Format format) {
        if (format != Format.FP4_E2M1) {
            throw new IllegalArgumentException("Fp4Codec handles FP4_E2M1, not " + format);
        }
    }
}
