package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MiniFloatTest {

    /**
     * The value of a code straight from the OFP8 / MX definitions, in double: sign, exponent field
     * {@code e}, mantissa {@code m}; subnormal {@code 2^(1-bias) · m/2^M}, normal
     * {@code 2^(e-bias) · (1 + m/2^M)}; E4M3 S.1111.111 = NaN; E5M2 exponent 31 = Inf (m = 0) or NaN.
     */
    private static double specValue(String format, int code) {
        int e;
        int m;
        int bias;
        int sign;
        switch (format) {
            case "E4M3" -> { sign = code >> 7; e = (code >> 3) & 15; m = code & 7; bias = 7; }
            case "E5M2" -> { sign = code >> 7; e = (code >> 2) & 31; m = code & 3; bias = 15; }
            default -> { sign = code >> 3; e = (code >> 1) & 3; m = code & 1; bias = 1; }
        }
        int mBits = format.equals("E4M3") ? 3 : format.equals("E5M2") ? 2 : 1;
        double magnitude;
        if (format.equals("E4M3") && e == 15 && m == 7) {
            magnitude = Double.NaN;
        } else if (format.equals("E5M2") && e == 31) {
            magnitude = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (e == 0) {
            magnitude = Math.pow(2, 1 - bias) * m / (1 << mBits);
        } else {
            magnitude = Math.pow(2, e - bias) * (1 + (double) m / (1 << mBits));
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    private static MiniFloat format(String name) {
        return switch (name) {
            case "E4M3" -> MiniFloat.E4M3;
            case "E5M2" -> MiniFloat.E5M2;
            default -> MiniFloat.E2M1;
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"E4M3", "E5M2", "E2M1"})
    void everyCodeDecodesToTheSpecValue(String name) {
        MiniFloat f = format(name);
        assertThat(f.codeCount()).isEqualTo(name.equals("E2M1") ? 16 : 256);
        for (int c = 0; c < f.codeCount(); c++) {
            double expected = specValue(name, c);
            if (Double.isNaN(expected)) {
                assertThat(f.decode(c)).as("code 0x%02X", c).isNaN();
            } else {
                assertThat((double) f.decode(c)).as("code 0x%02X", c).isEqualTo(expected);
                assertThat(Float.floatToRawIntBits(f.decode(c)) < 0).as("sign of 0x%02X", c)
                        .isEqualTo(c >= f.codeCount() / 2);
            }
        }
    }

    @Test
    void e4m3Landmarks() {
        MiniFloat f = MiniFloat.E4M3;
        assertThat(f.decode(0x7E)).isEqualTo(448f);
        assertThat(f.decode(0xFE)).isEqualTo(-448f);
        assertThat(f.decode(0x08)).isEqualTo(0x1p-6f);
        assertThat(f.decode(0x01)).isEqualTo(0x1p-9f);
        assertThat(f.decode(0x07)).isEqualTo(7 * 0x1p-9f);
        assertThat(f.decode(0x38)).isEqualTo(1f);
        assertThat(f.decode(0x7F)).isNaN();
        assertThat(f.decode(0xFF)).isNaN();
        assertThat(f.decode(0x78)).isEqualTo(256f); // exponent 1111 is an ordinary binade: no infinities
        assertThat(f.max()).isEqualTo(448f);
        assertThat(f.maxCode()).isEqualTo(0x7E);
        assertThat(f.minSubnormal()).isEqualTo(0x1p-9f);
        assertThat(f.emax()).isEqualTo(8);
    }

    @Test
    void e5m2Landmarks() {
        MiniFloat f = MiniFloat.E5M2;
        assertThat(f.decode(0x7B)).isEqualTo(57344f);
        assertThat(f.decode(0x7C)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(f.decode(0xFC)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(f.decode(0x7D)).isNaN();
        assertThat(f.decode(0x7F)).isNaN();
        assertThat(f.decode(0x01)).isEqualTo(0x1p-16f);
        assertThat(f.decode(0x04)).isEqualTo(0x1p-14f);
        assertThat(f.decode(0x3C)).isEqualTo(1f);
        assertThat(f.max()).isEqualTo(57344f);
        assertThat(f.emax()).isEqualTo(15);
    }

    @Test
    void e2m1HasTheMxFp4Values() {
        float[] positive = {0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f};
        for (int c = 0; c < 8; c++) {
            assertThat(MiniFloat.E2M1.decode(c)).isEqualTo(positive[c]);
            assertThat(MiniFloat.E2M1.decode(c | 8)).isEqualTo(-positive[c]);
        }
        assertThat(MiniFloat.E2M1.max()).isEqualTo(6f);
        assertThat(MiniFloat.E2M1.emax()).isEqualTo(2);
        assertThat(MiniFloat.E2M1.bits()).isEqualTo(4);
    }

    @ParameterizedTest
    @ValueSource(strings = {"E4M3", "E5M2", "E2M1"})
    void everyFiniteCodeRoundTrips(String name) {
        MiniFloat f = format(name);
        int checked = 0;
        for (int c = 0; c < f.codeCount(); c++) {
            if (Float.isFinite(f.decode(c))) {
                assertThat(f.encode(f.decode(c))).as("code 0x%02X", c).isEqualTo(c);
                checked++;
            }
        }
        assertThat(checked).isEqualTo(switch (name) {
            case "E4M3" -> 254;
            case "E5M2" -> 248;
            default -> 16;
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"E4M3", "E5M2", "E2M1"})
    void saturatesBeyondMax(String name) {
        MiniFloat f = format(name);
        int negMax = f.maxCode() | f.codeCount() / 2;
        for (float v : new float[] {f.max() * 1.07f, f.max() * 2, 1e30f, Float.MAX_VALUE, Float.POSITIVE_INFINITY}) {
            assertThat(f.encode(v)).as("%s", v).isEqualTo(f.maxCode());
            assertThat(f.encode(-v)).as("%s", -v).isEqualTo(negMax);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"E4M3", "E5M2", "E2M1"})
    void signedZerosAndUnderflow(String name) {
        MiniFloat f = format(name);
        int negZero = f.codeCount() / 2;
        assertThat(f.encode(0f)).isZero();
        assertThat(f.encode(-0f)).isEqualTo(negZero);
        assertThat(f.encode(Float.MIN_VALUE)).isZero();
        assertThat(f.encode(-Float.MIN_VALUE)).isEqualTo(negZero);
        float halfQuantum = f.minSubnormal() / 2;
        assertThat(f.encode(halfQuantum)).as("tie to even: 0").isZero();
        assertThat(f.encode(Math.nextUp(halfQuantum))).isEqualTo(1);
        assertThat(f.encode(-Math.nextUp(halfQuantum))).isEqualTo(negZero | 1);
    }

    @Test
    void tiesGoToEvenMantissa() {
        MiniFloat f = MiniFloat.E4M3;
        assertThat(f.encode(1f + 1f / 16)).isEqualTo(0x38);      // 1 | 1.125 -> 1 (m=0)
        assertThat(f.encode(1f + 3f / 16)).isEqualTo(0x3A);      // 1.125 | 1.25 -> 1.25 (m=2)
        assertThat(f.encode(3 * 0x1p-10f)).isEqualTo(0x02);      // subnormals 2^-9 | 2^-8 -> 2^-8
        assertThat(f.encode(15 * 0x1p-10f)).isEqualTo(0x08);     // 7·2^-9 | 2^-6: carry into the exponent
        assertThat(f.encode(432f)).isEqualTo(0x7E);              // 416 | 448 -> 448 (m=6)
        MiniFloat g = MiniFloat.E5M2;
        assertThat(g.encode(1.125f)).isEqualTo(0x3C);            // 1 | 1.25 -> 1
        assertThat(g.encode(1.375f)).isEqualTo(0x3E);            // 1.25 | 1.5 -> 1.5
    }

    /** E2M1 midpoints: RNE sends 0.75, 1.75 and 3.5 up and 0.25, 1.25, 2.5 and 5 down (as Model Optimizer's _cast_fp4). */
    @Test
    void e2m1Midpoints() {
        float[] midpoints = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5f};
        float[] expected = {0f, 1f, 1f, 2f, 2f, 4f, 4f};
        for (int k = 0; k < midpoints.length; k++) {
            assertThat(MiniFloat.E2M1.decode(MiniFloat.E2M1.encode(midpoints[k]))).as("%s", midpoints[k])
                    .isEqualTo(expected[k]);
            assertThat(MiniFloat.E2M1.decode(MiniFloat.E2M1.encode(-midpoints[k]))).isEqualTo(-expected[k]);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"E4M3", "E5M2", "E2M1"})
    void nanIsRejected(String name) {
        assertThatThrownBy(() -> format(name).encode(Float.NaN)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(name);
    }

    @Property(tries = 3000)
    void encodePicksTheNearestValue(@ForAll("floats") float v) {
        for (MiniFloat f : List.of(MiniFloat.E4M3, MiniFloat.E5M2, MiniFloat.E2M1)) {
            assertThat(f.encode(v)).as("%s of %s (%08X)", f, v, Float.floatToRawIntBits(v))
                    .isEqualTo(Reference.nearestMiniFloat(f, v));
        }
    }

    /** Every midpoint between neighbouring values, and the floats just around it. */
    @Test
    void exhaustiveAroundEveryMidpoint() {
        for (MiniFloat f : List.of(MiniFloat.E4M3, MiniFloat.E5M2, MiniFloat.E2M1)) {
            for (int c = 0; c + 1 < f.codeCount() / 2; c++) {
                float lo = f.decode(c);
                float hi = f.decode(c + 1);
                if (!Float.isFinite(hi)) {
                    continue;
                }
                float mid = (float) (((double) lo + hi) / 2);
                for (float v : new float[] {mid, Math.nextDown(mid), Math.nextUp(mid), lo, hi}) {
                    assertThat(f.encode(v)).as("%s %s", f, v).isEqualTo(Reference.nearestMiniFloat(f, v));
                    assertThat(f.encode(-v)).as("%s %s", f, -v).isEqualTo(Reference.nearestMiniFloat(f, -v));
                }
            }
        }
    }

    @Provide
    Arbitrary<Float> floats() {
        List<Arbitrary<Float>> sources = new ArrayList<>();
        sources.add(Arbitraries.integers().map(Float::intBitsToFloat).filter(Float::isFinite));
        for (float range : new float[] {70000f, 500f, 8f, 0.02f, 1e-4f}) {
            sources.add(Arbitraries.randomValue(r -> (2 * r.nextFloat() - 1) * range));
        }
        return Arbitraries.oneOf(sources);
    }
}
