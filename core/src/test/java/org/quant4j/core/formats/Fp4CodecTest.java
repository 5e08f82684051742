package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;

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

class Fp4CodecTest {
    private static final MiniFloat E2M1 = MiniFloat.E2M1;

    record Fp4Case(TensorCase tensor, NumberEncoding scaleEncoding) {
        QuantSpec spec() {
            return QuantSpec.builder().format(Format.FP4_E2M1).granularity(tensor.granularity())
                    .scaleEncoding(scaleEncoding).build();
        }

        float amax(int block) {
            int l = tensor.blockLength();
            float m = 0;
            for (int i = block * l; i < (block + 1) * l; i++) {
                m = Math.max(m, Math.abs(tensor.data()[i]));
            }
            return m;
        }
    }

    @Provide
    Arbitrary<Fp4Case> mx() {
        return Arbitraries.randomValue(r -> new Fp4Case(
                TensorCase.random(r, r.nextBoolean() ? Granularity.perGroup(32) : TensorCase.pickGranularity(r)),
                NumberEncoding.E8M0));
    }

    @Provide
    Arbitrary<Fp4Case> nv() {
        return Arbitraries.randomValue(r -> new Fp4Case(
                TensorCase.random(r, r.nextBoolean() ? Granularity.perGroup(16) : TensorCase.pickGranularity(r)),
                NumberEncoding.E4M3));
    }

    @Provide
    Arbitrary<Fp4Case> plain() {
        return Combinators.combine(Arbitraries.randomValue(TensorCase::random),
                Arbitraries.of(NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16)).as(Fp4Case::new);
    }

    /** MX v1.0 sec. 6.3: X = 2^(floor(log2 amax) - 2), clamped to E8M0; elements E2M1(x / X); |error| <= max(X, |x|) / 4. */
    @Property(tries = 400)
    void mxfp4FollowsTheOcpAlgorithm(@ForAll("mx") Fp4Case c) {
        TensorCase tc = c.tensor();
        QuantizedTensor t = Quantizer.quantize("w", tc.data(), tc.shape(), c.spec());
        float[] out = CodecChecks.assertSurvivesStorage(t);
        byte[] codes = CodecChecks.codes(t);
        float[] scales = t.scales().values();
        byte[] scaleBytes = t.scales().bytes();
        for (int b = 0; b < scales.length; b++) {
            float amax = c.amax(b);
            int floorLog2 = amax == 0 ? -126 : Math.getExponent((double) amax); // microxcaling: 0 counts as 2^-126
            int sharedExp = Math.max(-127, floorLog2 - 2);
            assertThat(scaleBytes[b] & 0xFF).as("E8M0 code of block %d, amax %s", b, amax).isEqualTo(sharedExp + 127);
            assertThat((double) scales[b]).isEqualTo(Math.scalb(1.0, sharedExp));
        }
        int l = tc.blockLength();
        for (int i = 0; i < tc.size(); i++) {
            float x = tc.data()[i];
            float scale = scales[i / l];
            int code = codes[i];
            assertThat(code).as("code of %s / %s", x, scale).isEqualTo(Reference.nearestMiniFloat(E2M1, x / scale));
            assertThat(out[i]).isEqualTo(E2M1.decode(code) * scale);
            double bound = Math.max(scale, Math.abs(x)) / 4.0 + Reference.slack(x, out[i]);
            assertThat(Math.abs((double) out[i] - x)).as("error at %d: %s -> %s", i, x, out[i]).isLessThanOrEqualTo(bound);
        }
        assertThat(t.bitsPerWeight()).isEqualTo(CodecChecks.expectedBitsPerWeight(tc.size(), 4, scales.length, false));
    }

    /** NVFP4: g = amax/(448·6) in FP32, block scale E4M3(amax_b / (6g)), elements E2M1(x / (s·g)), value decode·s·g. */
    @Property(tries = 400)
    void nvfp4FollowsTheTwoLevelRecipe(@ForAll("nv") Fp4Case c) {
        TensorCase tc = c.tensor();
        QuantizedTensor t = Quantizer.quantize("w", tc.data(), tc.shape(), c.spec());
        float[] out = CodecChecks.assertSurvivesStorage(t);
        byte[] codes = CodecChecks.codes(t);
        float[] scales = t.scales().values();
        float tensorAmax = 0;
        for (float x : tc.data()) {
            tensorAmax = Math.max(tensorAmax, Math.abs(x));
        }
        float g = tensorAmax == 0 ? 1f : Math.max(Float.MIN_NORMAL, tensorAmax / 2688f);
        assertThat(t.globalScale()).isEqualTo(g);
        for (int b = 0; b < scales.length; b++) {
            float amax = c.amax(b);
            float expected = amax == 0 ? 1f : MiniFloat.E4M3.decode(Reference.nearestMiniFloat(MiniFloat.E4M3, amax / (6f * g)));
            assertThat(scales[b]).as("block %d, amax %s", b, amax).isEqualTo(expected != 0 ? expected : 0x1p-9f);
        }
        int l = tc.blockLength();
        for (int i = 0; i < tc.size(); i++) {
            float x = tc.data()[i];
            float s = scales[i / l];
            float divisor = s * g;
            int code = codes[i];
            assertThat(code).as("code of %s / %s", x, divisor).isEqualTo(Reference.nearestMiniFloat(E2M1, x / divisor));
            assertThat(out[i]).isEqualTo(E2M1.decode(code) * s * g);
            assertThat(Math.abs((double) out[i] - x)).as("error at %d: %s -> %s", i, x, out[i])
                    .isLessThanOrEqualTo(Reference.miniFloatBound(E2M1, x, divisor, out[i]));
        }
        assertThat(t.bitsPerWeight()).isEqualTo(CodecChecks.expectedBitsPerWeight(tc.size(), 4, scales.length, true));
    }

    /** FP32/FP16/BF16 scales: amax / 6 rounded to the encoding. */
    @Property(tries = 300)
    void plainScalesAreAmaxOverSix(@ForAll("plain") Fp4Case c) {
        TensorCase tc = c.tensor();
        QuantizedTensor t = Quantizer.quantize("w", tc.data(), tc.shape(), c.spec());
        float[] out = CodecChecks.assertSurvivesStorage(t);
        float[] scales = t.scales().values();
        for (int b = 0; b < scales.length; b++) {
            float amax = c.amax(b);
            float rounded = NumberEncodings.round(c.scaleEncoding(), amax / 6f);
            float expected = amax == 0 ? 1f : rounded != 0 ? rounded : ScaleRules.smallestPositive(c.scaleEncoding());
            assertThat(scales[b]).isEqualTo(expected);
        }
        int l = tc.blockLength();
        for (int i = 0; i < tc.size(); i++) {
            float x = tc.data()[i];
            float s = scales[i / l];
            assertThat(Math.abs((double) out[i] - x)).as("error at %d: %s -> %s", i, x, out[i])
                    .isLessThanOrEqualTo(Reference.miniFloatBound(E2M1, x, s, out[i]));
        }
    }

    @Test
    void mxWorkedExample() {
        // amax 5: floor(log2 5) = 2, shared exponent 0, X = 1; 5 is the 4|6 midpoint -> 4 (even), 2.5 -> 2, 0.3 -> 0.5
        float[] x = {5f, -2.5f, 0.3f, 0.25f, 1.75f, -0f, 3.5f, 0.7f};
        QuantizedTensor t = Quantizer.quantize("w", x, new long[] {1, 8}, QuantSpec.mxfp4().toBuilder().groupSize(8).build());
        assertThat(t.scales().bytes()).containsExactly((byte) 127);
        assertThat(t.dequantizeToArray()).containsExactly(4f, -2f, 0.5f, 0f, 2f, -0f, 4f, 0.5f);
        // amax 7.9: still X = 1 (floor(log2 7.9) = 2), 7.9 saturates to 6; amax 8: X = 2
        QuantizedTensor u = Quantizer.quantize("w", new float[] {7.9f, 1f, 8f, 1f}, new long[] {2, 2},
                QuantSpec.mxfp4().toBuilder().groupSize(2).build());
        assertThat(u.scales().values()).containsExactly(1f, 2f);
        assertThat(u.dequantizeToArray()).containsExactly(6f, 1f, 8f, 1f);
    }

    @Test
    void mxAllZeroBlockUsesTheSmallestScale() {
        QuantizedTensor t = Quantizer.quantize("w", new float[32], new long[] {1, 32}, QuantSpec.mxfp4());
        assertThat(t.scales().bytes()).containsExactly((byte) 0);
        assertThat(t.dequantizeToArray()).containsOnly(0f);
        assertThat(t.bitsPerWeight()).isEqualTo(4.25);
    }

    @Test
    void nvfp4BlockWhoseScaleUnderflowsGetsTheSmallestE4M3() {
        float[] x = new float[32];
        x[0] = 1000f;           // block 0: amax 1000 -> scale 448 · ... ; g = 1000/2688
        x[16] = 1e-6f;          // block 1: amax/(6g) = 4.5e-7 < 2^-10: rounds to E4M3 zero
        x[17] = -4e-7f;
        QuantizedTensor t = Quantizer.quantize("w", x, new long[] {1, 32}, QuantSpec.nvfp4());
        assertThat(t.globalScale()).isEqualTo(1000f / 2688f);
        assertThat(t.scales().bytes()[1]).isEqualTo((byte) 0x01);
        float[] out = t.dequantizeToArray();
        assertThat(out[0]).isEqualTo(1000f);
        for (int i = 16; i < 32; i++) {
            assertThat(Float.isFinite(out[i])).isTrue();
            assertThat(Math.abs(out[i] - x[i])).isLessThanOrEqualTo(0x1p-9f * t.globalScale() / 4);
        }
    }

    @Test
    void nvfp4GlobalScaleIsAlwaysStored() {
        QuantizedTensor zeros = Quantizer.quantize("w", new float[64], new long[] {4, 16}, QuantSpec.nvfp4());
        assertThat(zeros.globalScale()).isEqualTo(1f);
        assertThat(zeros.hasGlobalScale()).isTrue();
        assertThat(zeros.bitsPerWeight()).isEqualTo(4 + 0.5 + 32.0 / 64);
        assertThat(zeros.dequantizeToArray()).containsOnly(0f);
    }

    @Test
    void parallelPathMatchesSequentialEncoding() {
        Random r = new Random(5);
        float[] x = new float[257 * 513];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (QuantSpec spec : new QuantSpec[] {QuantSpec.nvfp4().toBuilder().groupSize(3).build(),
                QuantSpec.mxfp4().toBuilder().perTensor().build(), QuantSpec.nvfp4().toBuilder().perChannel().build()}) {
            QuantizedTensor t = Quantizer.quantize("w", x, new long[] {257, 513}, spec);
            int l = Math.toIntExact(spec.granularity().blockLength(257, 513));
            byte[] expectedCodes = new byte[x.length];
            float[] expectedOut = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                float s = t.scales().values()[i / l];
                expectedCodes[i] = (byte) E2M1.encode(x[i] / (s * t.globalScale()));
                expectedOut[i] = E2M1.decode(expectedCodes[i]) * s * t.globalScale();
            }
            assertThat(CodecChecks.codes(t)).as("%s", spec).isEqualTo(expectedCodes);
            assertThat(CodecChecks.bits(t.dequantizeToArray())).isEqualTo(CodecChecks.bits(expectedOut));
        }
    }
}
