package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

class Fp8CodecTest {

    record Fp8Case(TensorCase tensor, Format format, NumberEncoding scaleEncoding) {
        QuantSpec spec() {
            return QuantSpec.builder().format(format).granularity(tensor.granularity()).scaleEncoding(scaleEncoding).build();
        }
    }

    @Provide
    Arbitrary<Fp8Case> cases() {
        return Combinators.combine(
                Arbitraries.randomValue(TensorCase::random),
                Arbitraries.of(Format.FP8_E4M3, Format.FP8_E5M2),
                Arbitraries.of(NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16, NumberEncoding.E8M0,
                        NumberEncoding.E4M3)).as(Fp8Case::new);
    }

    /** The scale the spec's rule gives, computed here from its definition. */
    private static float expectedScale(float amax, MiniFloat f, NumberEncoding e) {
        if (e == NumberEncoding.E8M0) { // OCP MX: 2^(floor(log2 amax) - emax), amax 0 as 2^-126, clamped
            int floorLog2 = amax == 0 ? -126 : Math.getExponent((double) amax);
            return (float) Math.scalb(1.0, Math.max(-127, floorLog2 - f.emax()));
        }
        if (amax == 0) {
            return 1f;
        }
        float s = NumberEncodings.round(e, amax / f.max());
        return s != 0 ? s : ScaleRules.smallestPositive(e);
    }

    @Property(tries = 400)
    void roundTripIsNearestAndBounded(@ForAll("cases") Fp8Case c) {
        TensorCase tc = c.tensor();
        MiniFloat f = c.format() == Format.FP8_E4M3 ? MiniFloat.E4M3 : MiniFloat.E5M2;
        QuantizedTensor t = Quantizer.quantize("w", tc.data(), tc.shape(), c.spec());
        float[] out = CodecChecks.assertSurvivesStorage(t);
        byte[] codes = CodecChecks.codes(t);
        float[] scales = t.scales().values();
        int blockLength = tc.blockLength();
        assertThat(t.globalScale()).isEqualTo(1f);
        for (int b = 0; b < scales.length; b++) {
            float amax = 0;
            for (int i = b * blockLength; i < (b + 1) * blockLength; i++) {
                amax = Math.max(amax, Math.abs(tc.data()[i]));
            }
            assertThat(scales[b]).as("scale of block %d (amax %s)", b, amax).isEqualTo(expectedScale(amax, f, c.scaleEncoding()));
        }
        for (int i = 0; i < tc.size(); i++) {
            float x = tc.data()[i];
            float s = scales[i / blockLength];
            int code = codes[i] & 0xFF;
            assertThat(code).as("code of %s / %s", x, s).isEqualTo(Reference.nearestMiniFloat(f, x / s));
            assertThat(out[i]).isEqualTo(f.decode(code) * s);
            assertThat(Math.abs((double) out[i] - x)).as("error at %d: %s -> %s (scale %s)", i, x, out[i], s)
                    .isLessThanOrEqualTo(Reference.miniFloatBound(f, x, s, out[i]));
        }
        assertThat(Quantizer.quantize("w", tc.data(), tc.shape(), c.spec())).isEqualTo(t);
        assertThat(t.bitsPerWeight()).isEqualTo(
                CodecChecks.expectedBitsPerWeight(tc.size(), 8, t.scales().byteLength(), false));
    }

    /** With an FP32 scale, E4M3 keeps 3 mantissa bits: relative error at most 2^-4 above the subnormal range. */
    @Test
    void e4m3PerChannelRelativeError() {
        Random r = new Random(7);
        float[] x = new float[64 * 96];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * Math.exp(r.nextGaussian() * 3));
        }
        QuantizedTensor t = Quantizer.quantize("w", x, new long[] {64, 96}, QuantSpec.fp8E4M3());
        float[] out = t.dequantizeToArray();
        for (int i = 0; i < x.length; i++) {
            float s = t.scales().values()[i / 96];
            if (Math.abs(x[i]) >= s * MiniFloat.E4M3.minNormal()) {
                assertThat(Math.abs(out[i] - x[i])).isLessThanOrEqualTo(Math.abs(x[i]) * (0x1p-4f + 0x1p-20f));
            }
        }
        assertThat(t.bitsPerWeight()).isEqualTo(8 + 32.0 / 96);
    }

    @Test
    void representableValuesAreExact() {
        float[] x = {448f, -448f, 1f, 0.5f, -0x1p-9f, 0f, -0f, 240f};
        QuantizedTensor t = Quantizer.quantize("w", x, new long[] {1, 8}, QuantSpec.fp8E4M3());
        assertThat(t.scales().values()).containsExactly(1f);
        assertThat(t.dequantizeToArray()).containsExactly(x);
        assertThat(CodecChecks.codes(t)[6] & 0xFF).isEqualTo(0x80); // -0 keeps its sign
        float[] y = {57344f, -1f, 0x1p-16f, 0.75f};
        QuantizedTensor u = Quantizer.quantize("w", y, new long[] {4}, QuantSpec.fp8E5M2().toBuilder().perTensor().build());
        assertThat(u.dequantizeToArray()).containsExactly(y);
    }

    @Test
    void allZeroBlocksGetScaleOne() {
        QuantizedTensor t = Quantizer.quantize("w", new float[12], new long[] {3, 4}, QuantSpec.fp8E5M2());
        assertThat(t.scales().values()).containsExactly(1f, 1f, 1f);
        assertThat(t.dequantizeToArray()).containsOnly(0f);
    }

    /** A tensor large enough to be split over threads quantizes exactly as element-by-element encoding. */
    @Test
    void parallelPathMatchesSequentialEncoding() {
        Random r = new Random(11);
        float[] x = new float[300 * 513];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian() * (1 + i % 5);
        }
        for (Granularity g : new Granularity[] {Granularity.perTensor(), Granularity.perGroup(3), Granularity.perChannel()}) {
            QuantSpec spec = QuantSpec.builder().format(Format.FP8_E4M3).granularity(g).scaleEncoding(NumberEncoding.FP32).build();
            QuantizedTensor t = Quantizer.quantize("w", x, new long[] {300, 513}, spec);
            int blockLength = Math.toIntExact(g.blockLength(300, 513));
            byte[] expectedCodes = new byte[x.length];
            float[] expectedOut = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                float s = t.scales().values()[i / blockLength];
                expectedCodes[i] = (byte) MiniFloat.E4M3.encode(x[i] / s);
                expectedOut[i] = MiniFloat.E4M3.decode(expectedCodes[i]) * s;
            }
            assertThat(t.codes()).as("%s", g).isEqualTo(expectedCodes);
            assertThat(CodecChecks.bits(t.dequantizeToArray())).isEqualTo(CodecChecks.bits(expectedOut));
        }
    }

    @Test
    void dequantizeChecksTheOutputLength() {
        QuantizedTensor t = Quantizer.quantize("w", new float[] {1, 2, 3, 4}, new long[] {2, 2}, QuantSpec.fp8E4M3());
        assertThatThrownBy(() -> t.dequantizeInto(new float[3])).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("4 elements");
    }
}
