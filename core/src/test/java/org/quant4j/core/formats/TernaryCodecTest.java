package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.quant4j.core.BitPacker;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

/** BitNet b1.58 (Ma et al. 2024, eq. 1-3) recomputed here from the paper's formulas. */
class TernaryCodecTest {

    /** RoundClip(x, a, b) = max(a, min(b, round(x))), round half to even as torch.round. */
    private static int roundClip(double x) {
        return (int) Math.max(-1, Math.min(1, Math.rint(x)));
    }

    @Provide
    Arbitrary<NumberEncoding> scaleEncodings() {
        return Arbitraries.of(NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16, NumberEncoding.E8M0);
    }

    @Property(tries = 300)
    void codesFollowThePaperAndDequantizeToCodeTimesGamma(
            @ForAll @IntRange(min = 1, max = 7) int rows, @ForAll @IntRange(min = 1, max = 9) int groupsPerRow,
            @ForAll @IntRange(min = 1, max = 16) int groupSize, @ForAll @IntRange(min = 0, max = 2) int granularityKind,
            @ForAll("scaleEncodings") NumberEncoding scaleEncoding, @ForAll long seed) {
        Granularity granularity = granularityKind == 0 ? Granularity.perTensor()
                : granularityKind == 1 ? Granularity.perChannel() : Granularity.perGroup(groupSize);
        QuantSpec spec = QuantSpec.builder().format(Format.TERNARY).granularity(granularity)
                .scaleEncoding(scaleEncoding).build();
        int cols = groupsPerRow * groupSize;
        float[] w = IntCodecTest.testData(new Random(seed), rows, cols);
        QuantizedTensor q = Quantizer.quantize("w", w, new long[] {rows, cols}, spec);

        int blockLength = (int) granularity.blockLength(rows, cols);
        byte[] codes = new byte[w.length];
        BitPacker.unpackTernary(q.codes(), w.length, codes);
        float[] out = q.dequantizeToArray();
        for (int b = 0; b < w.length / blockLength; b++) {
            double sum = 0;
            for (int i = b * blockLength; i < (b + 1) * blockLength; i++) {
                sum += Math.abs(w[i]);
            }
            float gamma = (float) Math.max(sum / blockLength, 1e-5);
            float stored = q.scales().values()[b];
            assertThat(stored).isEqualTo(NumberEncodings.round(scaleEncoding, gamma));
            for (int i = b * blockLength; i < (b + 1) * blockLength; i++) {
                int expected = roundClip((double) w[i] / stored);
                assertThat(codes[i] - 1).as("W~ of %s with gamma %s", w[i], stored).isEqualTo(expected);
                assertThat(out[i]).isEqualTo(expected * stored);
            }
        }
        assertThat(q.storageBytes()).isEqualTo((w.length + 4) / 5 + (long) q.scales().count() * scaleEncoding.bytesPerValue());
        assertThat(Quantizer.quantize("w", w.clone(), new long[] {rows, cols}, spec)).isEqualTo(q);
    }

    @Test
    void aWorkedExampleAtTheRoundingBoundaries() {
        // mean |W| = (0.2 + 1.0 + 0.6 + 0.6 + 2.6) / 5 = 1.0; W / 1 = 0.2, -1, 0.6, -0.6, 2.6 -> 0, -1, 1, -1, 1
        float[] w = {0.2f, -1.0f, 0.6f, -0.6f, 2.6f};
        QuantizedTensor q = Quantizer.quantize("w", w, new long[] {1, 5}, QuantSpec.ternary());
        assertThat(q.scales().values()).containsExactly(1f);
        assertThat(q.dequantizeToArray()).containsExactly(0f, -1f, 1f, -1f, 1f);
        assertThat(q.codes()).containsExactly((byte) (1 + 3 * 0 + 9 * 2 + 27 * 0 + 81 * 2));
        // ties round to even: W / gamma = ±0.5 -> 0, ±1.5 -> ±1 (clipped)
        float[] ties = {0.5f, -0.5f, 1.5f, -1.5f};
        QuantizedTensor t = Quantizer.quantize("w", ties, new long[] {4}, QuantSpec.ternary());
        assertThat(t.dequantizeToArray()).containsExactly(0f, 0f, 1f, -1f);
    }

    @Test
    void anAllZeroTensorGetsTheEpsilonScaleAndZeroCodes() {
        QuantizedTensor q = Quantizer.quantize("w", new float[] {0f, -0f, 0f, 0f, 0f, 0f, 0f}, new long[] {7},
                QuantSpec.ternary());
        assertThat(q.scales().values()[0]).isEqualTo(NumberEncodings.round(NumberEncoding.FP16, TernaryCodec.EPS));
        assertThat(q.scales().values()[0]).isPositive();
        assertThat(q.dequantizeToArray()).containsOnly(0f);
    }

    @Test
    void theParallelPathOnALargeTensorEqualsTheFormula() {
        int rows = 40;
        int cols = 5000;
        Random rnd = new Random(9);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        for (QuantSpec spec : new QuantSpec[] {QuantSpec.ternary(),
                QuantSpec.builder().format(Format.TERNARY).groupSize(125).build()}) {
            QuantizedTensor q = Quantizer.quantize("w", w, new long[] {rows, cols}, spec);
            int blockLength = (int) spec.granularity().blockLength(rows, cols);
            float[] out = q.dequantizeToArray();
            for (int i = 0; i < w.length; i++) {
                float gamma = q.scales().values()[i / blockLength];
                float expected = roundClip((double) w[i] / gamma) * gamma;
                if (out[i] != expected) {
                    throw new AssertionError(spec + " element " + i + ": " + out[i] + " != " + expected);
                }
            }
        }
    }

    @Test
    void aCorruptCodeByteIsReportedOnDequantize() {
        QuantizedTensor good = Quantizer.quantize("w", new float[] {1, -1, 0, 1, 1, 0, 0}, new long[] {7},
                QuantSpec.ternary());
        byte[] codes = good.codes().clone();
        codes[1] = (byte) 250;
        QuantizedTensor bad = new QuantizedTensor(good.spec(), good.shape(), codes, good.scales(), null, 1f);
        assertThatThrownBy(bad::dequantizeToArray).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("250");
    }
}
