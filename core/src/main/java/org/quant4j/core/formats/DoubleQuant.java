package org.quant4j.core.formats;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.quant4j.core.QuantizationException;

/**
 * Double quantization of NF4 absmax scales (QLoRA, Dettmers et al. 2023, sec. 3 "Double
 * Quantization"; bitsandbytes {@code quantize_4bit(..., compress_statistics=True)}): the mean of the
 * scales is subtracted, then blocks of {@value #BLOCK} centred scales are quantized with
 * {@code quantize_blockwise}: an FP32 absmax per block and one byte per scale, the code of the
 * {@link DynamicMap#SIGNED} value nearest to {@code (scale - mean) / blockAbsmax}.
 *
 * <p>Layout (little-endian), as {@link org.quant4j.core.NumberEncoding#DQ8} documents: FP32 mean, then
 * one FP32 absmax per block, then one code byte per scale. A scale decodes to
 * {@code map[code] * blockAbsmax + mean} (float arithmetic, exactly this order, saturated to the largest
 * finite float); a block whose centred
 * scales are all 0 has absmax 0 and codes of 0. The decoded scale is within
 * {@code blockAbsmax * DynamicMap.SIGNED.maxRoundingError()} (about 0.7 %) of the original, plus float
 * rounding.
 */
public final class DoubleQuant {
    /** Scales per second-level block (bitsandbytes' nested blocksize). */
    public static final int BLOCK = 256;

    private DoubleQuant() {}

    /** Second-level blocks for {@code count} scales. */
    public static int blockCount(int count) {
        return (count + BLOCK - 1) / BLOCK;
    }

    /** Bytes of {@code count} double-quantized scales: 4 (mean) + 4 per block + 1 per scale. */
    public static long byteLength(int count) {
        return 4L + 4L * blockCount(count) + count;
    }

    /**
     * Double-quantizes absmax scales.
     *
     * @throws QuantizationException when a scale is negative, NaN or infinite (absmax scales never are)
     */
    public static byte[] encode(float[] scales) {
        int n = scales.length;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float s = scales[i];
            if (!(s >= 0 && s <= Float.MAX_VALUE)) {
                throw new QuantizationException("DQ8 encodes absmax scales (finite, >= 0); scale " + i + " is " + s);
            }
            sum += s;
        }
        float mean = n == 0 ? 0f : (float) (sum / n);
        int blocks = blockCount(n);
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(byteLength(n))).order(ByteOrder.LITTLE_ENDIAN);
        out.putFloat(0, mean);
        int codeBase = 4 + 4 * blocks;
        for (int b = 0; b < blocks; b++) {
            int from = b * BLOCK;
            int to = Math.min(n, from + BLOCK);
            float absmax = 0;
            for (int i = from; i < to; i++) {
                absmax = Math.max(absmax, Math.abs(scales[i] - mean));
            }
            out.putFloat(4 + 4 * b, absmax);
            for (int i = from; i < to; i++) {
                float centred = scales[i] - mean;
                int code = absmax == 0 ? DynamicMap.ZERO_CODE : DynamicMap.SIGNED.encode(centred / absmax);
                out.put(codeBase + i, (byte) code);
            }
        }
        return out.array();
    }

    /** Decodes {@code count} scales. */
    public static float[] decode(int count, byte[] bytes) {
        if (bytes.length != byteLength(count)) {
            throw new QuantizationException("DQ8 array of " + count + " scales needs " + byteLength(count)
                    + " bytes, got " + bytes.length);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float mean = in.getFloat(0);
        int codeBase = 4 + 4 * blockCount(count);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            float absmax = in.getFloat(4 + 4 * (i / BLOCK));
            // saturate: centred codes near ±1 of a block of scales near Float.MAX_VALUE would overflow to ±Inf
            float v = DynamicMap.SIGNED.decode(bytes[codeBase + i]) * absmax + mean;
            out[i] = Math.max(-Float.MAX_VALUE, Math.min(Float.MAX_VALUE, v));
        }
        return out;
    }
}
