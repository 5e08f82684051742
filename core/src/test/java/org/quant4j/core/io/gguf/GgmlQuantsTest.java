package org.quant4j.core.io.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.quant4j.core.Half;
import org.quant4j.core.InvalidTensorException;

class GgmlQuantsTest {

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    private static float[] block(Random rnd) {
        double magnitude = Math.pow(10, rnd.nextInt(7) - 4);
        int style = rnd.nextInt(4);
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            double v = switch (style) {
                case 0 -> rnd.nextGaussian();
                case 1 -> Math.abs(rnd.nextGaussian()) + 2; // all positive, away from 0
                case 2 -> (rnd.nextInt(33) - 16) * 0.25; // ties
                default -> rnd.nextInt(4) == 0 ? 0 : rnd.nextGaussian() * 10;
            };
            x[j] = (float) (v * magnitude);
        }
        return x;
    }

    @Test
    void q8_0BlockLayoutByHand() {
        float[] x = new float[32];
        x[0] = 127f; x[1] = -63.5f; x[2] = 0.5f; x[3] = -0.5f; x[4] = 1.5f;
        byte[] out = new byte[34];
        GgmlQuants.quantizeQ8_0(x, 0, out, 0);
        byte[] expected = new byte[34];
        System.arraycopy(bytes(0x00, 0x3C, 0x7F, 0xC0, 0x01, 0xFF, 0x02), 0, expected, 0, 7);
        assertThat(out).containsExactly(expected); // d = 1.0 = fp16 0x3C00; roundf(-63.5) = -64, roundf(±0.5) = ±1
        float[] y = new float[32];
        GgmlQuants.dequantizeQ8_0(out, 0, y, 0);
        assertThat(y[0]).isEqualTo(127f);
        assertThat(y[1]).isEqualTo(-64f);
        assertThat(y[3]).isEqualTo(-1f);
        assertThat(y[31]).isEqualTo(0f);
    }

    @Test
    void q4_0BlockLayoutByHand() {
        float[] x = new float[32];
        x[0] = -8f;   // largest magnitude, negative: d = -8 / -8 = 1, code 0
        x[16] = 7f;   // code 15, high nibble of byte 0
        x[1] = 3.4f;  // trunc(11.9) = 11
        x[17] = -2.5f; // trunc(6.0) = 6
        x[2] = 8f;    // same magnitude as -8 but not first: trunc(16.5) = 16, clipped to 15 -> value 7
        byte[] out = new byte[18];
        GgmlQuants.quantizeQ4_0(x, 0, out, 0);
        byte[] expected = new byte[18];
        java.util.Arrays.fill(expected, (byte) 0x88);
        System.arraycopy(bytes(0x00, 0x3C, 0xF0, 0x6B, 0x8F), 0, expected, 0, 5);
        assertThat(out).containsExactly(expected);
        float[] y = new float[32];
        GgmlQuants.dequantizeQ4_0(out, 0, y, 0);
        assertThat(new float[] {y[0], y[16], y[1], y[17], y[2], y[3]}).containsExactly(-8f, 7f, 3f, -2f, 7f, 0f);
    }

    @Test
    void q4_0SignOfDFollowsTheLargestMagnitude() {
        float[] x = new float[32];
        x[5] = 16f; // positive max: d = -2, stored as fp16 0xC000
        byte[] out = new byte[18];
        GgmlQuants.quantizeQ4_0(x, 0, out, 0);
        assertThat(new byte[] {out[0], out[1]}).containsExactly(bytes(0x00, 0xC0));
        assertThat(out[2 + 5] & 0x0F).isZero(); // 16 / -2 = -8 -> code 0
    }

    @Test
    void q4_1BlockLayoutByHand() {
        float[] x = new float[32];
        x[0] = -1f;   // min: m = -1 (fp16 0xBC00), code 0
        x[16] = 14f;  // max: d = 15 / 15 = 1, code 15
        x[1] = 0.4f;  // trunc(1.4 + 0.5) = 1
        byte[] out = new byte[20];
        GgmlQuants.quantizeQ4_1(x, 0, out, 0);
        byte[] expected = new byte[20];
        java.util.Arrays.fill(expected, (byte) 0x11); // zeros: trunc(1 + 0.5) = 1
        System.arraycopy(bytes(0x00, 0x3C, 0x00, 0xBC, 0xF0), 0, expected, 0, 5);
        assertThat(out).containsExactly(expected);
        float[] y = new float[32];
        GgmlQuants.dequantizeQ4_1(out, 0, y, 0);
        assertThat(new float[] {y[0], y[16], y[1], y[2]}).containsExactly(-1f, 14f, 0f, 0f);
    }

    @Property(tries = 300)
    void q8_0ErrorIsHalfAStep(@ForAll long seed) {
        float[] x = block(new Random(seed));
        float[] y = roundTrip(GgmlType.Q8_0, x);
        float amax = 0;
        for (float v : x) amax = Math.max(amax, Math.abs(v));
        float d = amax / 127f;
        float d16 = Half.toFloat(Half.fromFloat(d));
        double bound = d / 2.0 + 127 * Math.abs(d - d16) + 4 * Math.ulp(amax);
        for (int j = 0; j < 32; j++) {
            assertThat((double) Math.abs(x[j] - y[j])).as("element %d", j).isLessThanOrEqualTo(bound);
        }
    }

    @Property(tries = 300)
    void q4_0ErrorIsHalfAStepExceptTheClippedSide(@ForAll long seed) {
        float[] x = block(new Random(seed));
        float[] y = roundTrip(GgmlType.Q4_0, x);
        float amax = 0;
        float max = 0;
        for (float v : x) {
            if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
        }
        float d = max / -8f;
        float ad = Math.abs(d);
        float d16 = Half.toFloat(Half.fromFloat(d));
        double slack = 8 * Math.abs(d - d16) + 4 * Math.ulp(amax);
        for (int j = 0; j < 32; j++) {
            boolean clipped = d != 0 && x[j] / d > 7.5f; // only the side opposite to max can pass code 15
            double bound = (clipped ? ad : ad / 2.0) + slack;
            assertThat((double) Math.abs(x[j] - y[j])).as("element %d", j).isLessThanOrEqualTo(bound);
        }
    }

    @Property(tries = 300)
    void q4_1ErrorIsHalfAStep(@ForAll long seed) {
        float[] x = block(new Random(seed));
        float[] y = roundTrip(GgmlType.Q4_1, x);
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : x) { min = Math.min(min, v); max = Math.max(max, v); }
        float d = (max - min) / 15f;
        float d16 = Half.toFloat(Half.fromFloat(d));
        float m16 = Half.toFloat(Half.fromFloat(min));
        double bound = d / 2.0 + 15 * Math.abs(d - d16) + Math.abs(min - m16) + 8 * Math.ulp(Math.max(-min, max));
        for (int j = 0; j < 32; j++) {
            assertThat((double) Math.abs(x[j] - y[j])).as("element %d", j).isLessThanOrEqualTo(bound);
        }
    }

    /** A normal fp16 scale with a moderate exponent, so that code·d and sums of such stay exact in float. */
    private static float fp16Scale(Random rnd) {
        int exponent = 5 + rnd.nextInt(20); // 2^-10 .. 2^9
        return Half.toFloat(exponent << 10 | rnd.nextInt(1024));
    }

    @Property(tries = 300)
    void q8_0IsExactOnItsGrid(@ForAll long seed) {
        Random rnd = new Random(seed);
        float d = fp16Scale(rnd);
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (rnd.nextInt(255) - 127) * d;
        x[rnd.nextInt(32)] = (rnd.nextBoolean() ? 127 : -127) * d;
        assertThat(roundTrip(GgmlType.Q8_0, x)).containsExactly(x);
    }

    @Property(tries = 300)
    void q4_0IsExactOnItsGrid(@ForAll long seed) {
        Random rnd = new Random(seed);
        float d = fp16Scale(rnd);
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (rnd.nextInt(16) - 8) * d;
        x[rnd.nextInt(32)] = -8 * d; // the value of largest magnitude, so that ggml's d = max/-8 is exactly d
        assertThat(roundTrip(GgmlType.Q4_0, x)).containsExactly(x);
    }

    @Property(tries = 300)
    void q4_1IsExactOnItsGrid(@ForAll long seed, @ForAll @IntRange(min = 0, max = 15) int zero) {
        Random rnd = new Random(seed);
        float d = fp16Scale(rnd);
        float m = -zero * d;
        Assume.that(Half.toFloat(Half.fromFloat(m)) == m); // the grid q·d + m of an fp16 d and m
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (rnd.nextInt(16) - zero) * d; // exact, and equal to q·d + m
        int low = rnd.nextInt(32);
        x[low] = m; // the block holds both ends of the grid, so ggml's min and (max - min)/15 are m and d
        x[(low + 1 + rnd.nextInt(31)) % 32] = (15 - zero) * d;
        assertThat(roundTrip(GgmlType.Q4_1, x)).containsExactly(x);
    }

    @Test
    void q5_0BlockLayoutByHand() {
        float[] x = new float[32];
        x[0] = -16f;   // largest magnitude: d = 1, code 0
        x[16] = 15f;   // code 31: low nibble 15, bit 4 in qh bit 16
        x[1] = 3.4f;   // trunc(19.9) = 19 = 0b10011
        x[17] = -2.5f; // trunc(14.0) = 14
        byte[] out = new byte[22];               // zeros: trunc(16.5) = 16 = 0b10000
        GgmlQuants.quantizeQ5_0(x, 0, out, 0);
        byte[] expected = new byte[22];
        // qh: bit 4 set for every element but 0 (code 0) and 17 (code 14): 0xFFFDFFFE, little endian
        System.arraycopy(bytes(0x00, 0x3C, 0xFE, 0xFF, 0xFD, 0xFF, 0xF0, 0xE3), 0, expected, 0, 8);
        assertThat(out).containsExactly(expected);
        float[] y = new float[32];
        GgmlQuants.dequantizeQ5_0(out, 0, y, 0);
        assertThat(new float[] {y[0], y[16], y[1], y[17], y[2], y[31]}).containsExactly(-16f, 15f, 3f, -2f, 0f, 0f);
    }

    @Test
    void q5_1BlockLayoutByHand() {
        float[] x = new float[32];
        x[0] = -1f;   // min: m = -1, code 0
        x[16] = 30f;  // max: d = 31 / 31 = 1, code 31
        x[1] = 0.4f;  // trunc(1.4 + 0.5) = 1
        byte[] out = new byte[24];
        GgmlQuants.quantizeQ5_1(x, 0, out, 0);
        byte[] expected = new byte[24];
        java.util.Arrays.fill(expected, (byte) 0x11); // zeros: code 1
        System.arraycopy(bytes(0x00, 0x3C, 0x00, 0xBC, 0x00, 0x00, 0x01, 0x00, 0xF0), 0, expected, 0, 9);
        assertThat(out).containsExactly(expected);
        float[] y = new float[32];
        GgmlQuants.dequantizeQ5_1(out, 0, y, 0);
        assertThat(new float[] {y[0], y[16], y[1], y[2]}).containsExactly(-1f, 30f, 0f, 0f);
    }

    @Property(tries = 300)
    void q5_0ErrorIsHalfAStepExceptTheClippedSide(@ForAll long seed) {
        float[] x = block(new Random(seed));
        float[] y = roundTrip(GgmlType.Q5_0, x);
        float amax = 0;
        float max = 0;
        for (float v : x) {
            if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
        }
        float d = max / -16f;
        float d16 = Half.toFloat(Half.fromFloat(d));
        double slack = 16 * Math.abs(d - d16) + 4 * Math.ulp(amax);
        for (int j = 0; j < 32; j++) {
            boolean clipped = d != 0 && x[j] / d > 15.5f;
            double bound = (clipped ? Math.abs(d) : Math.abs(d) / 2.0) + slack;
            assertThat((double) Math.abs(x[j] - y[j])).as("element %d", j).isLessThanOrEqualTo(bound);
        }
    }

    @Property(tries = 300)
    void q5_1ErrorIsHalfAStep(@ForAll long seed) {
        float[] x = block(new Random(seed));
        float[] y = roundTrip(GgmlType.Q5_1, x);
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : x) { min = Math.min(min, v); max = Math.max(max, v); }
        float d = (max - min) / 31f;
        float d16 = Half.toFloat(Half.fromFloat(d));
        float m16 = Half.toFloat(Half.fromFloat(min));
        double bound = d / 2.0 + 31 * Math.abs(d - d16) + Math.abs(min - m16) + 8 * Math.ulp(Math.max(-min, max));
        for (int j = 0; j < 32; j++) {
            assertThat((double) Math.abs(x[j] - y[j])).as("element %d", j).isLessThanOrEqualTo(bound);
        }
    }

    @Property(tries = 300)
    void q5_0IsExactOnItsGrid(@ForAll long seed) {
        Random rnd = new Random(seed);
        float d = fp16Scale(rnd);
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (rnd.nextInt(32) - 16) * d;
        x[rnd.nextInt(32)] = -16 * d;
        assertThat(roundTrip(GgmlType.Q5_0, x)).containsExactly(x);
    }

    @Property(tries = 300)
    void q5_1IsExactOnItsGrid(@ForAll long seed, @ForAll @IntRange(min = 0, max = 31) int zero) {
        Random rnd = new Random(seed);
        float d = fp16Scale(rnd);
        float m = -zero * d;
        Assume.that(Half.toFloat(Half.fromFloat(m)) == m);
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (rnd.nextInt(32) - zero) * d;
        int low = rnd.nextInt(32);
        x[low] = m;
        x[(low + 1 + rnd.nextInt(31)) % 32] = (31 - zero) * d;
        assertThat(roundTrip(GgmlType.Q5_1, x)).containsExactly(x);
    }

    @Test
    void f16AndF32RoundTrip() {
        float[] x = {1f, -2.5f, 65504f, 1e-7f, 0.1f, -0f};
        assertThat(roundTrip(GgmlType.F32, x)).containsExactly(x);
        float[] y = roundTrip(GgmlType.F16, x);
        for (int i = 0; i < x.length; i++) {
            assertThat(y[i]).isEqualTo(Half.toFloat(Half.fromFloat(x[i])));
        }
        assertThat(GgmlQuants.quantize(GgmlType.F16, new float[] {1f}, "t")).containsExactly(bytes(0x00, 0x3C));
    }

    @Test
    void bf16KeepsTheTop16BitsRoundedToNearestEven() {
        // bf16 values are exact; ties between two bf16 values go to the even one, as ggml_compute_fp32_to_bf16
        float exact = Float.intBitsToFloat(0x3FC10000);       // 1.5078125
        float tieDown = Float.intBitsToFloat(0x3F808000);     // halfway between 0x3F80 and 0x3F81: to 0x3F80
        float tieUp = Float.intBitsToFloat(0x3F818000);       // halfway between 0x3F81 and 0x3F82: to 0x3F82
        float above = Float.intBitsToFloat(0x3F808001);       // just above a tie: up
        float[] y = roundTrip(GgmlType.BF16, new float[] {exact, tieDown, tieUp, above, -0f, 3e38f});
        assertThat(Float.floatToRawIntBits(y[0])).isEqualTo(0x3FC10000);
        assertThat(Float.floatToRawIntBits(y[1])).isEqualTo(0x3F800000);
        assertThat(Float.floatToRawIntBits(y[2])).isEqualTo(0x3F820000);
        assertThat(Float.floatToRawIntBits(y[3])).isEqualTo(0x3F810000);
        assertThat(Float.floatToRawIntBits(y[4])).isEqualTo(0x80000000);
        assertThat(y[5]).isCloseTo(3e38f, org.assertj.core.data.Percentage.withPercentage(0.4));
        assertThat(GgmlQuants.quantize(GgmlType.BF16, new float[] {1f}, "t")).containsExactly(bytes(0x80, 0x3F));
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.BF16, new float[] {Float.MAX_VALUE}, "t"))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("beyond the bf16 range");
    }

    @Test
    void refusesNonFiniteValuesAndScalesBeyondFp16() {
        float[] x = new float[64];
        x[40] = Float.NaN;
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.Q8_0, x, "tensor 'w'"))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("tensor 'w'").hasMessageContaining("block 1").hasMessageContaining("NaN");
        float[] big = new float[32];
        big[0] = 1e7f; // d = 1e7/127 > 65504
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.Q8_0, big, "tensor 'w'"))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("fp16 range");
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.F16, new float[] {70000f}, "tensor 'b'"))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("fp16 range");
    }

    @Test
    void zeroBlocksDequantizeToZero() {
        float[] x = new float[32];
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_0, GgmlType.Q4_1}) {
            for (float v : roundTrip(t, x)) {
                assertThat(v == 0f).as("%s gives %s", t, v).isTrue(); // Q4_0/Q5_0 give -0: d = 0 / -8 = -0, as in ggml
            }
        }
    }

    private static float[] roundTrip(GgmlType type, float[] x) {
        byte[] q = GgmlQuants.quantize(type, x, "test");
        assertThat(q).hasSize((int) type.byteSize(x.length));
        float[] y = new float[x.length];
        GgmlQuants.dequantize(type, q, 0, y);
        return y;
    }
}
