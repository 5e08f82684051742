package org.quant4j.core.formats;

import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.FormatCodec;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * BitNet b1.58 ternary weights (Ma et al. 2024, "The Era of 1-bit LLMs", eq. 1-3): per block the
 * absmean {@code γ = mean(|W|)}, then {@code W~ = RoundClip(W / γ, -1, 1)} with
 * {@code RoundClip(x, a, b) = max(a, min(b, round(x)))}. The paper writes {@code γ + ε}; the
 * authors' reference code ("Training Tips, Code and FAQ", {@code weight_quant}) clamps instead,
 * {@code γ = max(mean|W|, 1e-5)}, which is what is done here. The divisor is the scale as stored
 * (γ rounded to the spec's scale encoding), so a weight dequantizes exactly to
 * {@code W~ · stored γ}. Codes {@code W~ + 1 ∈ {0, 1, 2}} are packed five per byte
 * ({@link BitPacker#packTernary}). The paper scales per tensor; any granularity works.
 */
public final class TernaryCodec implements FormatCodec {
    /** The reference code's lower bound on γ, which also keeps an all-zero block from dividing by zero. */
    public static final float EPS = 1e-5f;
    private static final float ROUNDER = 0x1.8p23f;

    @Override
    public QuantizedTensor quantize(float[] data, long[] shape, QuantSpec spec) {
        TensorBlocks blocks = TensorBlocks.of(shape, spec.granularity(), data.length);
        float[] scales = absMeans(blocks, data);
        NumberEncoding encoding = spec.scaleEncoding();
        for (int b = 0; b < scales.length; b++) {
            scales[b] = storedScale(encoding, scales[b]);
        }
        EncodedArray stored = EncodedArray.encode(encoding, spec.bits(), scales);
        float[] s = stored.values();
        byte[] packed = new byte[(data.length + 4) / 5];
        blocks.forEachChunk((chunk, from, to, scratch) -> {
            float[] values = scratch.values;
            byte[] codes = scratch.codes;
            int length = to - from;
            System.arraycopy(data, from, values, 0, length);
            blocks.forEachSegment(from, to, (b, i, end) -> codesInPlace(values, i - from, end - from, s[b]));
            for (int k = 0; k < length; k++) {
                codes[k] = (byte) (int) values[k];
            }
            BitPacker.packTernary(codes, 0, length, packed, from / 5);
        });
        return new QuantizedTensor(spec, shape, packed, stored, null, 1f);
    }

    @Override
    public void dequantize(QuantizedTensor t, float[] out) {
        if (out.length != t.size()) {
            throw new IllegalArgumentException("output has " + out.length + " elements, the tensor " + t.size());
        }
        TensorBlocks blocks = TensorBlocks.of(t.shape(), t.spec().granularity(), out.length);
        float[] s = t.scales().values();
        byte[] packed = t.codes();
        blocks.forEachChunk((chunk, from, to, scratch) -> {
            byte[] codes = scratch.codes;
            BitPacker.unpackTernary(packed, from / 5, to - from, codes, 0);
            blocks.forEachSegment(from, to, (b, i, end) -> {
                float scale = s[b];
                for (int k = i; k < end; k++) {
                    out[k] = (codes[k - from] - 1) * scale;
                }
            });
        });
    }

    /** {@code max(γ, EPS)} rounded to the encoding, never to zero (E4M3 cannot hold 1e-5). */
    static float storedScale(NumberEncoding encoding, float gamma) {
        float g = Math.max(gamma, EPS);
        float r = NumberEncodings.round(encoding, g);
        return r > 0 ? r : NumberEncodings.roundUp(encoding, g);
    }

    /**
     * In place, {@code buf[i] = RoundClip(buf[i] / scale, -1, 1) + 1}; clipping before rounding gives
     * the same result, and adding {@code 1.5·2^23} rounds half to even in float arithmetic.
     */
    private static void codesInPlace(float[] buf, int from, int to, float scale) {
        for (int i = from; i < to; i++) {
            float v = Math.min(Math.max(buf[i] / scale, -1f), 1f);
            buf[i] = ((v + ROUNDER) - ROUNDER) + 1f;
        }
    }

    /** Mean |x| per block (summed in double; a tensor-wide block sums chunk partials in chunk order). */
    private static float[] absMeans(TensorBlocks blocks, float[] data) {
        float[] means = new float[blocks.count()];
        int length = blocks.length();
        if (blocks.count() == 1) {
            double[] sums = new double[blocks.chunkCount()];
            blocks.forEachChunk((chunk, from, to, scratch) -> sums[chunk] = absSum(data, from, to));
            double total = 0;
            for (double v : sums) {
                total += v;
            }
            means[0] = (float) (total / length);
            return means;
        }
        blocks.forEachBlock(b -> means[b] = (float) (absSum(data, b * length, b * length + length) / length));
        return means;
    }

    /** Sum of |x| in double, over four interleaved partial sums (independent additions pipeline). */
    private static double absSum(float[] data, int from, int to) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = from;
        for (; i + 3 < to; i += 4) {
            s0 += Math.abs(data[i]);
            s1 += Math.abs(data[i + 1]);
            s2 += Math.abs(data[i + 2]);
            s3 += Math.abs(data[i + 3]);
        }
        for (; i < to; i++) {
            s0 += Math.abs(data[i]);
        }
        return (s0 + s1) + (s2 + s3);
    }
}
