package org.quant4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.FloatRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * FP16, BF16, E8M0 and UINT against references written from the format definitions (IEEE 754
 * binary16, bfloat16 = the top half of binary32, OCP MX E8M0 = 2^(e-127)), and the rounding modes.
 */
class NumberEncodingsTest {

    /** binary16 value from its fields: (-1)^s · 2^(e-15) · (1 + m/1024), subnormal 2^-14 · m/1024. */
    private static double referenceHalf(int h) {
        int s = h >>> 15;
        int e = (h >>> 10) & 0x1F;
        int m = h & 0x3FF;
        double sign = s == 1 ? -1 : 1;
        if (e == 31) {
            return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        return e == 0 ? sign * Math.scalb(m / 1024.0, -14) : sign * Math.scalb(1 + m / 1024.0, e - 15);
    }

    /** bfloat16 value from its fields: 8 exponent bits (bias 127), 7 mantissa bits. */
    private static double referenceBf16(int h) {
        int s = h >>> 15;
        int e = (h >>> 7) & 0xFF;
        int m = h & 0x7F;
        double sign = s == 1 ? -1 : 1;
        if (e == 255) {
            return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        return e == 0 ? sign * Math.scalb(m / 128.0, -126) : sign * Math.scalb(1 + m / 128.0, e - 127);
    }

    /** Sorted finite non-negative values of a 16-bit format, index = bit pattern. */
    private static double[] positiveTable(boolean half) {
        int count = half ? 0x7C00 : 0x7F80;
        double[] t = new double[count];
        for (int h = 0; h < count; h++) {
            t[h] = half ? referenceHalf(h) : referenceBf16(h);
        }
        return t;
    }

    private static final double[] HALF_VALUES = positiveTable(true);
    private static final double[] BF16_VALUES = positiveTable(false);

    /** Nearest table value to |v| with ties to the even pattern, computed exactly; the pattern index. */
    private static int nearestEven(double[] table, float v) {
        BigDecimal a = new BigDecimal(Math.abs(v));
        int i = Arrays.binarySearch(table, Math.abs((double) v));
        if (i >= 0) {
            return i;
        }
        int above = -i - 1;
        if (above == table.length) {
            return table.length - 1; // beyond the largest finite value: saturation, checked separately
        }
        int below = above - 1;
        int cmp = a.subtract(new BigDecimal(table[below])).compareTo(new BigDecimal(table[above]).subtract(a));
        return cmp < 0 ? below : cmp > 0 ? above : (below % 2 == 0 ? below : above);
    }

    @Test
    void halfDecodingAgreesWithTheFieldFormulaForAll65536Patterns() {
        for (int h = 0; h < 0x10000; h++) {
            double expected = referenceHalf(h);
            float actual = Half.toFloat(h);
            if (Double.isNaN(expected)) {
                assertThat(actual).as("pattern %04x", h).isNaN();
            } else {
                assertThat((double) actual).as("pattern %04x", h).isEqualTo(expected);
                assertThat(Float.floatToRawIntBits(actual) >>> 31).as("sign of %04x", h).isEqualTo(h >>> 15);
            }
        }
    }

    @Test
    void halfEncodingIsExactOnHalfValuesAndRoundsMidpointsToEven() {
        for (int h = 0; h < 0x7C00; h++) {
            float v = Half.toFloat(h);
            assertThat(Half.fromFloat(v)).as("exact %04x", h).isEqualTo(h);
            assertThat(Half.fromFloat(-v)).as("exact -%04x", h).isEqualTo(h | 0x8000);
            if (h + 1 < 0x7C00) {
                float next = Half.toFloat(h + 1);
                float mid = (v + next) / 2; // exact: 11 significant bits + 1
                int even = (h & 1) == 0 ? h : h + 1;
                assertThat(Half.fromFloat(mid)).as("midpoint after %04x", h).isEqualTo(even);
                assertThat(Half.fromFloat(-mid)).as("midpoint after -%04x", h).isEqualTo(even | 0x8000);
                assertThat(Half.fromFloat(Math.nextDown(mid))).as("below midpoint %04x", h).isEqualTo(h);
                assertThat(Half.fromFloat(Math.nextUp(mid))).as("above midpoint %04x", h).isEqualTo(h + 1);
            }
        }
    }

    @Property(tries = 3000)
    void halfEncodingIsTheNearestValueForAnyFloatInRange(@ForAll @FloatRange(min = -65519.99f, max = 65519.99f) float v) {
        int expected = nearestEven(HALF_VALUES, v) | (v < 0 || (v == 0 && 1 / v < 0) ? 0x8000 : 0);
        assertThat(Half.fromFloat(v)).isEqualTo(expected);
    }

    @Property(tries = 1000)
    void halfEncodingIsTheNearestValueForTinyFloats(@ForAll @IntRange(min = 1, max = 0x387FFFFF) int bits) {
        float v = Float.intBitsToFloat(bits); // every positive float below 2^-14: half subnormals and below
        assertThat(Half.fromFloat(v)).isEqualTo(nearestEven(HALF_VALUES, v));
    }

    @Test
    void halfSaturatesBeyondTheLargestFiniteValueAndKeepsTheSignOfZero() {
        assertThat(Half.toFloat(0x7BFF)).isEqualTo(65504f);
        assertThat(Half.fromFloat(65519.996f)).isEqualTo(0x7BFF);
        assertThat(Half.fromFloat(65520f)).isEqualTo(0x7BFF);
        assertThat(Half.fromFloat(1e30f)).isEqualTo(0x7BFF);
        assertThat(Half.fromFloat(-3e38f)).isEqualTo(0xFBFF);
        assertThat(Half.fromFloat(Float.POSITIVE_INFINITY)).isEqualTo(0x7BFF);
        assertThat(Half.fromFloat(-0f)).isEqualTo(0x8000);
        assertThat(Half.fromFloat(-1e-30f)).isEqualTo(0x8000);
        assertThat(Half.fromFloat(Float.MIN_VALUE)).isEqualTo(0);
        assertThat(Half.toFloat(Half.fromFloat(Float.NaN))).isNaN();
    }

    @Test
    void bf16DecodingAgreesWithTheFieldFormulaForAll65536Patterns() {
        for (int h = 0; h < 0x10000; h++) {
            double expected = referenceBf16(h);
            float actual = NumberEncodings.bf16ToFloat(h);
            if (Double.isNaN(expected)) {
                assertThat(actual).as("pattern %04x", h).isNaN();
            } else {
                assertThat((double) actual).as("pattern %04x", h).isEqualTo(expected);
            }
        }
    }

    @Test
    void bf16EncodingIsExactOnBf16ValuesAndRoundsMidpointsToEven() {
        for (int h = 0; h < 0x7F80; h++) {
            float v = NumberEncodings.bf16ToFloat(h);
            assertThat(NumberEncodings.floatToBf16(v)).as("exact %04x", h).isEqualTo(h);
            assertThat(NumberEncodings.floatToBf16(-v)).as("exact -%04x", h).isEqualTo(h | 0x8000);
            if (h + 1 < 0x7F80) {
                float mid = Float.intBitsToFloat((h << 16) | 0x8000); // halfway between h and h+1
                int even = (h & 1) == 0 ? h : h + 1;
                assertThat(NumberEncodings.floatToBf16(mid)).as("midpoint after %04x", h).isEqualTo(even);
                assertThat(NumberEncodings.floatToBf16(Math.nextDown(mid))).isEqualTo(h);
                assertThat(NumberEncodings.floatToBf16(Math.nextUp(mid))).isEqualTo(h + 1);
            }
        }
    }

    @Property(tries = 3000)
    void bf16EncodingIsTheNearestValueForAnyFiniteFloat(@ForAll @IntRange(min = 0, max = 0x7F7EFFFF) int bits,
                                                        @ForAll boolean negative) {
        float v = Float.intBitsToFloat(bits | (negative ? 0x80000000 : 0));
        int expected = nearestEven(BF16_VALUES, v) | (negative ? 0x8000 : 0);
        assertThat(NumberEncodings.floatToBf16(v)).isEqualTo(expected);
    }

    @Test
    void bf16SaturatesFiniteOverflowButKeepsInfinityAndNaN() {
        assertThat(NumberEncodings.floatToBf16(Float.MAX_VALUE)).isEqualTo(0x7F7F);
        assertThat(NumberEncodings.floatToBf16(-Float.MAX_VALUE)).isEqualTo(0xFF7F);
        assertThat(NumberEncodings.round(NumberEncoding.BF16, 3.3961776e38f)).isEqualTo(3.3895314e38f);
        assertThat(NumberEncodings.floatToBf16(Float.POSITIVE_INFINITY)).isEqualTo(0x7F80);
        assertThat(NumberEncodings.floatToBf16(Float.NEGATIVE_INFINITY)).isEqualTo(0xFF80);
        assertThat(NumberEncodings.bf16ToFloat(NumberEncodings.floatToBf16(Float.NaN))).isNaN();
    }

    @Test
    void e8m0IsAPowerOfTwoPerCode() {
        for (int code = 0; code <= 254; code++) {
            float v = NumberEncodings.e8m0ToFloat(code);
            assertThat((double) v).isEqualTo(Math.scalb(1.0, code - 127));
            assertThat(NumberEncodings.floatToE8m0(v)).isEqualTo(code);
            byte[] stored = NumberEncodings.encode(NumberEncoding.E8M0, 0, new float[] {v});
            assertThat(stored).containsExactly((byte) code);
        }
        assertThat(NumberEncodings.e8m0ToFloat(255)).isNaN();
    }

    @Test
    void e8m0RoundsToTheNearestPowerOfTwoInLogScaleAndClamps() {
        assertThat(NumberEncodings.round(NumberEncoding.E8M0, 1.4f)).isEqualTo(1f);
        assertThat(NumberEncodings.round(NumberEncoding.E8M0, 1.5f)).isEqualTo(2f);
        assertThat(NumberEncodings.round(NumberEncoding.E8M0, -3f)).isEqualTo(4f);
        assertThat(NumberEncodings.round(NumberEncoding.E8M0, 0f)).isEqualTo(0x1p-127f);
        assertThat(NumberEncodings.round(NumberEncoding.E8M0, Float.MAX_VALUE)).isEqualTo(0x1p127f);
    }

    @Test
    void roundUpGivesTheSmallestE8m0PowerOfTwoNotBelowTheValue() {
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, 1f)).isEqualTo(1f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, Math.nextUp(1f))).isEqualTo(2f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, 1.1f)).isEqualTo(2f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, 0.3f)).isEqualTo(0.5f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, 0f)).isEqualTo(0x1p-127f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, -5f)).isEqualTo(0x1p-127f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, 0x1p-127f)).isEqualTo(0x1p-127f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, Math.nextUp(0x1p-127f))).isEqualTo(0x1p-126f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, 0x1p127f)).isEqualTo(0x1p127f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.E8M0, Math.nextUp(0x1p127f))).isEqualTo(Float.POSITIVE_INFINITY);
    }

    @Property(tries = 3000)
    void roundUpGivesTheSmallestHalfNotBelowTheValue(@ForAll @FloatRange(min = -70000f, max = 70000f) float v) {
        float r = NumberEncodings.roundUp(NumberEncoding.FP16, v);
        assertThat(r).isEqualTo(smallestNotBelow(HALF_VALUES, v));
    }

    @Property(tries = 3000)
    void roundUpGivesTheSmallestBf16NotBelowTheValue(@ForAll @IntRange(min = 0, max = 0x7F7FFFFF) int bits,
                                                      @ForAll boolean negative) {
        float v = Float.intBitsToFloat(bits | (negative ? 0x80000000 : 0));
        assertThat(NumberEncodings.roundUp(NumberEncoding.BF16, v)).isEqualTo(smallestNotBelow(BF16_VALUES, v));
    }

    /** The smallest value of ±table that is >= v; +Inf beyond the largest. */
    private static float smallestNotBelow(double[] table, float v) {
        if (v == 0) {
            return v;
        }
        if (v > 0) {
            int i = Arrays.binarySearch(table, v);
            int at = i >= 0 ? i : -i - 1;
            return at == table.length ? Float.POSITIVE_INFINITY : (float) table[at];
        }
        int i = Arrays.binarySearch(table, -(double) v);
        int at = i >= 0 ? i : -i - 2; // the largest magnitude <= |v|
        return (float) -table[at];
    }

    @Test
    void roundUpKeepsFp32ValuesAndGivesInfinityWhereFp16Ends() {
        assertThat(NumberEncodings.roundUp(NumberEncoding.FP32, 0.1f)).isEqualTo(0.1f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.FP16, 65504f)).isEqualTo(65504f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.FP16, 65504.01f)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(NumberEncodings.roundUp(NumberEncoding.FP16, 1e30f)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(NumberEncodings.roundUp(NumberEncoding.FP16, 1e-30f)).isEqualTo(0x1p-24f);
        assertThat(NumberEncodings.roundUp(NumberEncoding.FP16, -1e-30f)).isEqualTo(-0f);
    }

    @Property(tries = 200)
    void uintValuesRoundTripThroughTheirPackedForm(@ForAll @IntRange(min = 2, max = 8) int bits,
                                                   @ForAll @IntRange(min = 0, max = 70) int n, @ForAll long seed) {
        Random rnd = new Random(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = rnd.nextInt(1 << bits);
        }
        EncodedArray a = EncodedArray.encode(NumberEncoding.UINT, bits, values);
        assertThat(a.byteLength()).isEqualTo((n * bits + 7) / 8);
        assertThat(a.values()).containsExactly(values);
        EncodedArray read = EncodedArray.fromBytes(NumberEncoding.UINT, bits, n, a.bytes());
        assertThat(read).isEqualTo(a);
        assertThat(read.values()).containsExactly(values);
    }

    @Test
    void uintRejectsWhatIsNotAnUnsignedIntegerOfItsWidth() {
        assertThatThrownBy(() -> EncodedArray.encode(NumberEncoding.UINT, 4, new float[] {1f, 2.5f}))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("index 1");
        assertThatThrownBy(() -> EncodedArray.encode(NumberEncoding.UINT, 4, new float[] {16f}))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("4-bit");
        assertThatThrownBy(() -> EncodedArray.encode(NumberEncoding.UINT, 4, new float[] {-1f}))
                .isInstanceOf(QuantizationException.class);
    }

    @Property(tries = 200)
    void fp16AndBf16AndFp32ArraysRoundTripTheirBytes(@ForAll @IntRange(min = 0, max = 40) int n, @ForAll long seed) {
        Random rnd = new Random(seed);
        for (NumberEncoding e : new NumberEncoding[] {NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16,
                NumberEncoding.E8M0}) {
            float[] values = new float[n];
            for (int i = 0; i < n; i++) {
                values[i] = NumberEncodings.round(e, (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(7) - 3)));
            }
            EncodedArray a = EncodedArray.encode(e, 0, values);
            assertThat(a.byteLength()).isEqualTo(n * e.bytesPerValue());
            assertThat(a.values()).as("%s", e).containsExactly(values);
            assertThat(EncodedArray.fromBytes(e, 0, n, a.bytes()).values()).containsExactly(values);
        }
    }

    @Test
    void storedBytesOfTheWrongLengthAreRejected() {
        assertThatThrownBy(() -> EncodedArray.fromBytes(NumberEncoding.FP16, 0, 3, new byte[5]))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("6 bytes");
    }
}
