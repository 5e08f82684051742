package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class Nf4CodebookTest {
    private static final Nf4Codebook NF4 = Nf4Codebook.NF4;

    /** bitsandbytes' NF4 table (csrc/kernels.cu, dDequantizeNF4 / the nf4 lookup table). */
    private static final float[] BITSANDBYTES_NF4 = {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    };

    @Test
    void valuesAreTheBitsandbytesTable() {
        assertThat(NF4.values()).containsExactly(BITSANDBYTES_NF4);
        assertThat(NF4.decode(Nf4Codebook.ZERO_CODE)).isEqualTo(0f);
        for (int c = 0; c < 16; c++) {
            assertThat(NF4.decode(c)).isEqualTo(BITSANDBYTES_NF4[c]);
        }
    }

    /** The literals of bitsandbytes' dQuantizeNF4 decision tree, by the code boundary they split. */
    private static final float[] BITSANDBYTES_TREE = {
        -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
        -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
        0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
        0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f,
    };

    /** Each tree literal is the midpoint of its two values to within one float ulp. */
    @Test
    void thresholdsAreTheMidpointsOfTheBitsandbytesTree() {
        assertThat(NF4.thresholds()).containsExactly(BITSANDBYTES_TREE);
        for (int k = 0; k < 15; k++) {
            double midpoint = (BITSANDBYTES_NF4[k] + (double) BITSANDBYTES_NF4[k + 1]) / 2;
            assertThat((double) BITSANDBYTES_TREE[k]).isCloseTo(midpoint, within((double) Math.ulp(BITSANDBYTES_TREE[k])));
        }
    }

    /** The table lookup agrees with counting the tree thresholds, also right at its cell edges (k/64 - 1). */
    @Test
    void agreesWithTheTreeAroundEveryCellEdge() {
        for (int k = 0; k <= 128; k++) {
            float v = k / 64f - 1f;
            for (int ulps = 0; ulps < 40; ulps++) {
                assertThat(NF4.encode(v)).as("%s", v).isEqualTo(countBelow(v));
                float w = -v;
                assertThat(NF4.encode(w)).as("%s", w).isEqualTo(countBelow(w));
                v = Math.nextUp(v);
            }
        }
    }

    private static int countBelow(float v) {
        int below = 0;
        for (float t : BITSANDBYTES_TREE) {
            below += v > t ? 1 : 0;
        }
        return below;
    }

    @Test
    void midpointsGoToTheLowerCode() {
        float[] t = NF4.thresholds();
        for (int k = 0; k < 15; k++) {
            assertThat(NF4.encode(t[k])).as("threshold %d", k).isEqualTo(k);
            assertThat(NF4.encode(Math.nextUp(t[k]))).isEqualTo(k + 1);
        }
    }

    @Test
    void saturatesAndKeepsZero() {
        assertThat(NF4.encode(0f)).isEqualTo(7);
        assertThat(NF4.encode(-0f)).isEqualTo(7);
        assertThat(NF4.encode(1f)).isEqualTo(15);
        assertThat(NF4.encode(-1f)).isEqualTo(0);
        assertThat(NF4.encode(1e30f)).isEqualTo(15);
        assertThat(NF4.encode(Float.NEGATIVE_INFINITY)).isEqualTo(0);
        assertThat(NF4.encode(Float.POSITIVE_INFINITY)).isEqualTo(15);
    }

    @Test
    void largestRoundingErrorIsHalfTheTopGap() {
        assertThat(NF4.maxRoundingError()).isEqualTo((1f - 0.6961928009986877f) / 2); // between -1 and -0.696
    }

    /** The code counts the tree thresholds below v; away from a midpoint's last ulp that is the nearest value. */
    @Property(tries = 5000)
    void encodePicksTheNearestValue(@ForAll("normalized") float v) {
        assertThat(NF4.encode(v)).as("%s", v).isEqualTo(countBelow(v));
        boolean onAMidpoint = false;
        for (int k = 0; k < 15; k++) {
            double midpoint = (BITSANDBYTES_NF4[k] + (double) BITSANDBYTES_NF4[k + 1]) / 2;
            onAMidpoint |= Math.abs(v - midpoint) <= Math.ulp((float) midpoint);
        }
        if (!onAMidpoint) {
            assertThat(NF4.encode(v)).as("%s", v).isEqualTo(Reference.nearestIndex(BITSANDBYTES_NF4, v));
        }
    }

    @Provide
    Arbitrary<Float> normalized() {
        return Arbitraries.oneOf(
                Arbitraries.randomValue(r -> 3 * r.nextFloat() - 1.5f),
                Arbitraries.randomValue(r -> (2 * r.nextFloat() - 1) * 0.1f),
                Arbitraries.integers().between(0, 14).flatMap(k -> Arbitraries.integers().between(-3, 3).map(ulps -> {
                    float t = NF4.thresholds()[k];
                    for (int u = 0; u < Math.abs(ulps); u++) {
                        t = ulps > 0 ? Math.nextUp(t) : Math.nextDown(t);
                    }
                    return t;
                })));
    }
}
