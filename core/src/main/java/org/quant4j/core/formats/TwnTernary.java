package org.quant4j.core.formats;

import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

/**
 * Ternary quantization with the threshold and scale of Ternary Weight Networks (Li, Zhang and Liu 2016,
 * "Ternary Weight Networks", arXiv:1605.04711, sec. 2.2): per block, the approximate minimiser of
 * {@code ||W − α·T||²} over {@code T ∈ {-1, 0, 1}^n}, {@code α > 0}:
 * <pre>
 * Δ = 0.7 · mean|W|                 (the paper's Δ* ≈ 0.7·E|W|)
 * T_i = +1 if W_i > Δ, −1 if W_i < −Δ, else 0
 * α = mean of |W_i| over {i : |W_i| > Δ}   (the paper's α*)
 * </pre>
 * as the authors' Caffe code does it ({@code caffe_cpu_ternary}: strict comparisons with Δ). The
 * tensor is core's {@link Format#TERNARY} with α as the stored scale (rounded to the spec's scale
 * encoding, never to zero; a block with no weight above Δ stores {@link TernaryCodec#EPS} and all zero
 * codes), so {@link TernaryCodec#dequantize} gives exactly {@code T · stored α}. BitNet's absmean
 * ({@link TernaryCodec}) instead rounds {@code W/mean|W|}: threshold {@code mean|W|/2} and scale
 * {@code mean|W|}, about two thirds of the least-squares scale for bell-shaped weights.
 */
public final class TwnTernary {
    /** The paper's threshold factor: {@code Δ = 0.7 · mean|W|}. */
    public static final double THRESHOLD_FACTOR = 0.7;

    private TwnTernary() {}

    /**
     * The TWN ternary tensor of a row-major float array ({@code shape[0]} rows; blocks of the spec's granularity).
     *
     * @throws InvalidSpecException if {@code spec} is not ternary
     * @throws org.quant4j.core.InvalidTensorException as {@link Quantizer#quantize} (NaN, Inf, shape, group size)
     */
    public static QuantizedTensor quantize(String name, float[] data, long[] shape, QuantSpec spec) {
        if (spec.format() != Format.TERNARY) {
            throw new InvalidSpecException("TWN quantizes to the TERNARY format, not " + spec.shortName()
                    + " (tensor '" + name + "')");
        }
        Quantizer.validate(name, data, shape, spec);
        TensorBlocks blocks = TensorBlocks.of(shape, spec.granularity(), data.length);
        int length = blocks.length();
        float[] thresholds = new float[blocks.count()];
        float[] alphas = new float[blocks.count()];
        blocks.forEachBlock(b -> {
            int from = b * length;
            double absSum = 0;
            for (int i = from; i < from + length; i++) {
                absSum += Math.abs(data[i]);
            }
            float delta = (float) (THRESHOLD_FACTOR * absSum / length);
            double kept = 0;
            int count = 0;
            for (int i = from; i < from + length; i++) {
                float a = Math.abs(data[i]);
                if (a > delta) {
                    kept += a;
                    count++;
                }
            }
            thresholds[b] = delta;
            alphas[b] = count == 0 ? 0f : (float) (kept / count);
        });
        NumberEncoding encoding = spec.scaleEncoding();
        for (int b = 0; b < alphas.length; b++) {
            alphas[b] = TernaryCodec.storedScale(encoding, alphas[b]);
        }
        EncodedArray stored = EncodedArray.encode(encoding, spec.bits(), alphas);
        byte[] packed = new byte[(data.length + 4) / 5];
        blocks.forEachChunk((chunk, from, to, scratch) -> {
            byte[] codes = scratch.codes;
            blocks.forEachSegment(from, to, (b, i, end) -> {
                float delta = thresholds[b];
                for (int k = i; k < end; k++) {
                    float v = data[k];
                    codes[k - from] = (byte) (v > delta ? 2 : v < -delta ? 0 : 1);
                }
            });
            BitPacker.packTernary(codes, 0, to - from, packed, from / 5);
        });
        return new QuantizedTensor(spec, shape, packed, stored, null, 1f);
    }
}
