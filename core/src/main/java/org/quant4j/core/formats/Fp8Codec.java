package org.quant4j.core.formats;

import org.quant4j.core.Format;
import org.quant4j.core.FormatCodec;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * OCP FP8 (OFP8 rev. 1.0) E4M3 / E5M2 elements, one byte each, under block scales of any granularity.
 * Scale per block = {@code amax / max} of the element format (448 or 57344; amax 0 gives 1) rounded to
 * the spec's scale encoding (FP32 by default); with E8M0 scales the OCP MX v1.0 sec. 6.3 rule
 * {@code 2^(floor(log2 amax) - emax)} instead (MXFP8). Code = {@link MiniFloat#encode}{@code (x / scale)}
 * (round-to-nearest-even, saturating), value = {@code decode(code) * scale}. When rounding makes a
 * scale smaller than exact, the largest elements saturate to ±max·scale, which bounds their error by
 * the scale's rounding error.
 */
public final class Fp8Codec implements FormatCodec {
    @Override
    public QuantizedTensor quantize(float[] data, long[] shape, QuantSpec spec) {
        return MiniFloatBlocks.quantize(data, shape, spec, element(spec.format()));
    }

    @Override
    public void dequantize(QuantizedTensor t, float[] out) {
        MiniFloatBlocks.dequantize(t, element(t.spec().format()), out);
    }

    /** The element format of an FP8 {@link Format}. */
    static MiniFloat element(Format format) {
        return switch (format) {
            case FP8_E4M3 -> MiniFloat.E4M3;
            case FP8_E5M2 -> MiniFloat.E5M2;
            default -> throw new IllegalArgumentException("Fp8Codec handles FP8_E4M3 and FP8_E5M2, not " + format);
        };
    }
}
