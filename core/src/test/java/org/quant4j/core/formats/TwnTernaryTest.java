package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

/** Ternary Weight Networks (Li et al. 2016, sec. 2.2) recomputed here from the paper's formulas. */
class TwnTernaryTest {
    private static final QuantSpec PER_CHANNEL = QuantSpec.ternary().toBuilder().perChannel().build();

    @Test
    void aWorkedRowFollowsThePaper() {
        float[] w = {0.1f, -0.5f, 0.9f, 0.05f, -1.2f, 0.3f};
        // mean|w| = 3.05 / 6, Δ = 0.7 · 0.50833 = 0.35583; kept: 0.5, 0.9, 1.2 -> α = 0.86667
        QuantizedTensor t = TwnTernary.quantize("w", w, new long[] {1, 6}, PER_CHANNEL);
        float alpha = NumberEncodings.round(NumberEncoding.FP16, 2.6f / 3f);
        assertThat(t.scales().values()).containsExactly(alpha);
        assertThat(t.dequantizeToArray()).containsExactly(0f, -alpha, alpha, 0f, -alpha, 0f);
    }

    @Property(tries = 100)
    void everyBlockIsThresholdedAtSevenTenthsOfItsMeanAndScaledByTheMeanAboveIt(
            @ForAll @IntRange(min = 1, max = 6) int rows, @ForAll @IntRange(min = 1, max = 40) int cols,
            @ForAll @IntRange(min = 0, max = 1) int perTensor, @ForAll @IntRange(min = 1, max = 10_000) int seed) {
        float[] w = gaussian(rows * cols, seed);
        QuantSpec spec = perTensor == 1 ? QuantSpec.ternary().toBuilder().scaleEncoding(NumberEncoding.FP32).build()
                : PER_CHANNEL.toBuilder().scaleEncoding(NumberEncoding.FP32).build();
        float[] q = TwnTernary.quantize("w", w, new long[] {rows, cols}, spec).dequantizeToArray();
        int length = perTensor == 1 ? rows * cols : cols;
        for (int from = 0; from < w.length; from += length) {
            double mean = 0;
            for (int i = from; i < from + length; i++) mean += Math.abs(w[i]) / length;
            double delta = 0.7 * mean;
            double kept = 0;
            int n = 0;
            for (int i = from; i < from + length; i++) {
                if (Math.abs(w[i]) > delta) { kept += Math.abs(w[i]); n++; }
            }
            double alpha = kept / n;
            for (int i = from; i < from + length; i++) {
                double expected = Math.abs(w[i]) > delta ? Math.signum(w[i]) * alpha : 0;
                assertThat((double) q[i]).isCloseTo(expected, org.assertj.core.api.Assertions.within(1e-6 * (1 + alpha)));
            }
        }
    }

    /** The point of TWN: for bell-shaped weights its error is well below BitNet's absmean (which is not least squares). */
    @Test
    void gaussianWeightsLoseLessThanWithAbsmean() {
        float[] w = gaussian(64 * 256, 7);
        long[] shape = {64, 256};
        double twn = squaredError(w, TwnTernary.quantize("w", w, shape, PER_CHANNEL).dequantizeToArray());
        double absmean = squaredError(w, Quantizer.quantize("w", w, shape, PER_CHANNEL).dequantizeToArray());
        // for N(0, 1): TWN keeps ~0.29 of the energy as error, absmean ~0.36 (threshold σ·0.4, scale σ·0.8)
        assertThat(twn / absmean).isLessThan(0.9);
    }

    @Test
    void decodesWithTheTernaryCodecAndSurvivesAZeroRow() {
        float[] w = gaussian(3 * 10, 3);
        java.util.Arrays.fill(w, 10, 20, 0f);
        QuantizedTensor t = TwnTernary.quantize("w", w, new long[] {3, 10}, PER_CHANNEL);
        float[] q = t.dequantizeToArray();
        float[] viaCodec = new float[q.length];
        new TernaryCodec().dequantize(t, viaCodec);
        assertThat(viaCodec).containsExactly(q);
        for (int i = 10; i < 20; i++) {
            assertThat(q[i]).isZero();
        }
        assertThat(t.spec()).isEqualTo(PER_CHANNEL);
    }

    @Test
    void refusesOtherFormatsAndBadTensors() {
        assertThatThrownBy(() -> TwnTernary.quantize("layer0/W", new float[] {1f}, new long[] {1, 1},
                QuantSpec.integer(4, true, Granularity.perChannel())))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("layer0/W").hasMessageContaining("TERNARY");
        assertThatThrownBy(() -> TwnTernary.quantize("layer0/W", new float[] {1f, Float.NaN}, new long[] {1, 2}, PER_CHANNEL))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("layer0/W");
    }

    private static float[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (0.1 * r.nextGaussian());
        return w;
    }

    private static double squaredError(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (a[i] - b[i]) * (double) (a[i] - b[i]);
        return s;
    }
}
