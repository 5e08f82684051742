package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

class Nf4CodecTest {
    private static final Nf4Codebook NF4 = Nf4Codebook.NF4;

    record Nf4Case(TensorCase tensor, NumberEncoding scaleEncoding) {
        QuantSpec spec() {
            return QuantSpec.builder().format(Format.NF4).granularity(tensor.granularity()).scaleEncoding(scaleEncoding).build();
        }
    }

    @Provide
    Arbitrary<Nf4Case> cases() {
        return Combinators.combine(
                Arbitraries.randomValue(r -> TensorCase.random(r, r.nextBoolean() ? Granularity.perGroup(64) : TensorCase.pickGranularity(r))),
                Arbitraries.of(NumberEncoding.FP32, NumberEncoding.DQ8, NumberEncoding.FP16, NumberEncoding.BF16,
                        NumberEncoding.E4M3, NumberEncoding.E8M0)).as(Nf4Case::new);
    }

    /**
     * Codes are the codebook entry nearest to x / s for the stored scale s (the code of 0 when s = 0),
     * values are NF4[code] · s, and the error is at most |s| · maxRoundingError inside the scale, or the
     * saturation |x| - |s| beyond it (a scale rounded below the absmax).
     */
    @Property(tries = 400)
    void roundTripIsNearestAndBounded(@ForAll("cases") Nf4Case c) {
        TensorCase tc = c.tensor();
        QuantizedTensor t = Quantizer.quantize("w", tc.data(), tc.shape(), c.spec());
        float[] out = CodecChecks.assertSurvivesStorage(t);
        byte[] codes = CodecChecks.codes(t);
        float[] scales = t.scales().values();
        int l = tc.blockLength();
        for (int b = 0; b < scales.length; b++) {
            float amax = 0;
            for (int i = b * l; i < (b + 1) * l; i++) {
                amax = Math.max(amax, Math.abs(tc.data()[i]));
            }
            if (c.scaleEncoding() == NumberEncoding.DQ8) {
                float blockSpread = t.scales().count() == 0 ? 0 : dq8Spread(t, b);
                assertThat((double) scales[b]).isCloseTo(amax, within(blockSpread * 0.0071 + 1e-6 * Math.abs(amax) + 1e-44));
            } else {
                assertThat(scales[b]).as("scale of block %d", b).isEqualTo(NumberEncodings.round(c.scaleEncoding(), amax));
            }
        }
        double maxError = NF4.maxRoundingError();
        for (int i = 0; i < tc.size(); i++) {
            float x = tc.data()[i];
            float s = scales[i / l];
            int code = codes[i];
            assertThat(code).as("code of %s / %s", x, s).isEqualTo(s == 0 ? Nf4Codebook.ZERO_CODE : NF4.encode(x / s));
            assertThat(out[i]).isEqualTo(NF4.decode(code) * s);
            double y = Math.abs((double) x / s);
            double bound = s == 0 ? Math.abs(x) : y <= 1 ? Math.abs(s) * maxError : (y - 1) * Math.abs(s);
            assertThat(Math.abs((double) out[i] - x)).as("error at %d: %s -> %s (scale %s)", i, x, out[i], s)
                    .isLessThanOrEqualTo(bound + Reference.slack(x, out[i]));
        }
        assertThat(Quantizer.quantize("w", tc.data(), tc.shape(), c.spec())).isEqualTo(t);
    }

    /** The absmax of the DQ8 second-level block holding scale {@code b}. */
    private static float dq8Spread(QuantizedTensor t, int b) {
        byte[] bytes = t.scales().bytes();
        return java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getFloat(4 + 4 * (b / DoubleQuant.BLOCK));
    }

    /** Away from the last ulp of a midpoint, the code is the brute-force nearest codebook value. */
    @Test
    void codesAreNearestByBruteForce() {
        Random r = new Random(3);
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        QuantizedTensor t = Quantizer.quantize("w", x, new long[] {32, 64}, QuantSpec.nf4(false));
        byte[] codes = CodecChecks.codes(t);
        float[] values = NF4.values();
        int checked = 0;
        for (int i = 0; i < x.length; i++) {
            float y = x[i] / t.scales().values()[i / 64];
            boolean nearMidpoint = false;
            for (float threshold : NF4.thresholds()) {
                nearMidpoint |= Math.abs(y - threshold) <= 2 * Math.ulp(threshold);
            }
            if (!nearMidpoint) {
                assertThat((int) codes[i]).isEqualTo(Reference.nearestIndex(values, y));
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(x.length - 5);
    }

    @Test
    void scaledCodebookValuesAreExact() {
        float[] x = new float[16];
        for (int c = 0; c < 16; c++) {
            x[c] = NF4.decode(c) * 3f;
        }
        QuantizedTensor t = Quantizer.quantize("w", x, new long[] {16}, QuantSpec.nf4(false).toBuilder().perTensor().build());
        assertThat(t.scales().values()).containsExactly(3f);
        assertThat(t.dequantizeToArray()).containsExactly(x);
        byte[] codes = CodecChecks.codes(t);
        for (int c = 0; c < 16; c++) {
            assertThat((int) codes[c]).isEqualTo(c);
        }
    }

    @Test
    void bitsPerWeight() {
        float[] x = new float[64 * 1024];
        Random r = new Random(1);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        QuantizedTensor plain = Quantizer.quantize("w", x, new long[] {64, 1024}, QuantSpec.nf4(false));
        assertThat(plain.bitsPerWeight()).isEqualTo(4.5);
        QuantizedTensor dq = Quantizer.quantize("w", x, new long[] {64, 1024}, QuantSpec.nf4(true));
        // codes + FP32 mean + FP32 absmax per 256 scales + one byte per scale, per weight
        assertThat(dq.bitsPerWeight()).isEqualTo(4 + 8.0 / 64 + 32.0 / (64 * 256) + 32.0 / x.length);
        assertThat(dq.bitsPerWeight()).isCloseTo(4.127, within(0.001));
        assertThat(dq.scales().byteLength()).isEqualTo(4 + 4 * 4 + 1024);
    }

    /** Double quantization costs little accuracy: on Gaussian weights the RMS error grows by < 2 %. */
    @Test
    void doubleQuantizationKeepsTheError() {
        float[] x = new float[64 * 1024];
        Random r = new Random(2);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian() * 0.02f;
        }
        double plain = rms(x, Quantizer.quantize("w", x, new long[] {64, 1024}, QuantSpec.nf4(false)).dequantizeToArray());
        double dq = rms(x, Quantizer.quantize("w", x, new long[] {64, 1024}, QuantSpec.nf4(true)).dequantizeToArray());
        assertThat(dq).isLessThan(plain * 1.02);
        assertThat(plain).isLessThan(0.1 * 0.02); // NF4 on N(0, σ): RMS error about 0.07σ
    }

    private static double rms(float[] x, float[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (x[i] - (double) y[i]) * (x[i] - (double) y[i]);
        }
        return Math.sqrt(s / x.length);
    }

    @Test
    void zeroScaleGivesZeroCodes() {
        float[] x = {0f, -0f, 0f, 0f, 1f, -1f, 0.5f, 0f};
        QuantizedTensor t = Quantizer.quantize("w", x, new long[] {2, 4}, QuantSpec.nf4(false).toBuilder().perChannel().build());
        assertThat(t.scales().values()).containsExactly(0f, 1f);
        byte[] codes = CodecChecks.codes(t);
        assertThat(codes).startsWith((byte) 7, (byte) 7, (byte) 7, (byte) 7);
        assertThat(t.dequantizeToArray()).containsExactly(0f, 0f, 0f, 0f, 1f, -1f, 0.44070982933044434f, 0f); // 0.5: nearest is 0.4407
    }

    @Test
    void parallelPathMatchesSequentialEncoding() {
        Random r = new Random(9);
        float[] x = new float[257 * 513];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (QuantSpec spec : new QuantSpec[] {QuantSpec.nf4(true).toBuilder().groupSize(3).build(),
                QuantSpec.nf4(false).toBuilder().perTensor().build()}) {
            QuantizedTensor t = Quantizer.quantize("w", x, new long[] {257, 513}, spec);
            int l = Math.toIntExact(spec.granularity().blockLength(257, 513));
            byte[] expectedCodes = new byte[x.length];
            float[] expectedOut = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                float s = t.scales().values()[i / l];
                expectedCodes[i] = (byte) NF4.encode(x[i] / s);
                expectedOut[i] = NF4.decode(expectedCodes[i]) * s;
            }
            assertThat(CodecChecks.codes(t)).as("%s", spec).isEqualTo(expectedCodes);
            assertThat(CodecChecks.bits(t.dequantizeToArray())).isEqualTo(CodecChecks.bits(expectedOut));
        }
    }
}
