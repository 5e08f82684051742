package org.quant4j.core.formats;

import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.FormatCodec;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * NF4 (QLoRA, Dettmers et al. 2023, sec. 3): per block (64 elements by default) the absmax is the scale
 * (FP32 by default; FP16/BF16/E4M3/E8M0 round it), and each element is the code of the
 * {@link Nf4Codebook} value nearest to {@code x / scale} with bitsandbytes' midpoint thresholds
 * (exactly on a midpoint: the lower code). Codes are 4 bits, packed as {@link org.quant4j.core.BitPacker}
 * packs them. A block with scale 0 gets the code of 0.
 *
 * <p>With {@link NumberEncoding#DQ8} the scales are double-quantized ({@link DoubleQuant}: mean
 * subtracted, blocks of 256 on the 8-bit dynamic map, FP32 absmax each): 4 + 8/64 + 32/(64·256) ≈ 4.127
 * bits per weight instead of 4.5. Elements are quantized with the <em>decoded</em> double-quantized
 * scale. bitsandbytes instead picks the NF4 codes with the exact absmax and only then compresses the
 * absmax, so its dequantized weights use a scale that differs from the one the codes were chosen for.
 * Using the decoded scale makes {@code dequantize()} exactly the function the codes were fitted to: an
 * element's error is at most {@code |s| · maxRoundingError} (s = decoded scale), plus
 * {@code |x| - |s|} for elements beyond a scale that rounded below the absmax. A decoded DQ8 scale can
 * be 0 or even negative (a tiny absmax next to large ones); division by it is still exact in sign and
 * bounded as above.
 *
 * <p>Elements are divided by the scale; bitsandbytes multiplies by the float reciprocal, which can move
 * a value lying within an ulp of a threshold to the neighbouring code.
 */
public final class Nf4Codec implements FormatCodec {
    @Override
    public QuantizedTensor quantize(float[] data, long[] shape, QuantSpec spec) {
        requireNf4(spec.format());
        int blockLength = BlockCodes.blockLength(shape, spec);
        float[] amax = BlockCodes.absMax(data, blockLength);
        NumberEncoding encoding = spec.scaleEncoding();
        float[] scale = new float[amax.length];
        for (int b = 0; b < amax.length; b++) {
            scale[b] = NumberEncodings.round(encoding, amax[b]);
        }
        EncodedArray scales = EncodedArray.encode(encoding, 0, scale);
        float[] divisor = scales.values().clone();
        for (int b = 0; b < divisor.length; b++) {
            if (divisor[b] == 0) {
                divisor[b] = Float.POSITIVE_INFINITY; // x / inf = ±0: the code of 0
            }
        }
        byte[] codes = BlockCodes.encode4(data, blockLength, divisor, Nf4Codebook.NF4);
        return new QuantizedTensor(spec, shape, codes, scales, null, 1f);
    }

    @Override
    public void dequantize(QuantizedTensor t, float[] out) {
        requireNf4(t.spec().format());
        BlockCodes.decode4(t, Nf4Codebook.NF4, out);
    }

    private static void requireNf4(Format format) {
        if (format != Format.NF4) {
            throw new IllegalArgumentException("Nf4Codec handles NF4, not " + format);
        }
    }
}
