package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class DynamicMapTest {
    private static final DynamicMap MAP = DynamicMap.SIGNED;

    /** create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8) evaluated in double. */
    private static List<Double> definition() {
        List<Double> data = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            int items = (1 << i) + 1;
            for (int k = 0; k + 1 < items; k++) {
                double lo = 0.1 + 0.9 * k / (items - 1);
                double hi = 0.1 + 0.9 * (k + 1) / (items - 1);
                double v = Math.pow(10, i - 6) * (lo + hi) / 2;
                data.add(v);
                data.add(-v);
            }
        }
        data.add(0.0);
        data.add(1.0);
        Collections.sort(data);
        return data;
    }

    @Test
    void matchesTheDefinition() {
        List<Double> expected = definition();
        float[] values = MAP.values();
        assertThat(values).hasSize(256);
        for (int c = 0; c < 256; c++) {
            assertThat((double) values[c]).as("code %d", c)
                    .isCloseTo(expected.get(c), within(Math.abs(expected.get(c)) * 1e-6));
            if (c > 0) {
                assertThat(values[c]).isGreaterThan(values[c - 1]);
            }
        }
        assertThat(MAP.decode(DynamicMap.ZERO_CODE)).isEqualTo(0f);
        assertThat(MAP.decode(255)).isEqualTo(1f);
        assertThat((double) MAP.decode(0)).isCloseTo(-(1 - 0.9 / 128), within(1e-7));
        assertThat((double) MAP.decode(128)).isCloseTo(0.55e-6, within(1e-12)); // smallest positive: decade 10^-6, one item
    }

    @Test
    void roundTripsEveryValue() {
        for (int c = 0; c < 256; c++) {
            assertThat(MAP.encode(MAP.decode(c))).isEqualTo(c);
        }
    }

    @Test
    void largestRoundingErrorIsHalfTheTopGap() {
        assertThat((double) MAP.maxRoundingError()).isCloseTo(0.9 / 128, within(1e-6));
    }

    @Property(tries = 3000)
    void encodePicksTheNearestValue(@ForAll("normalized") float v) {
        assertThat(MAP.encode(v)).as("%s", v).isEqualTo(Reference.nearestIndex(MAP.values(), v));
    }

    @Provide
    Arbitrary<Float> normalized() {
        return Arbitraries.oneOf(
                Arbitraries.randomValue(r -> 2.2f * r.nextFloat() - 1.1f),
                Arbitraries.randomValue(r -> (float) ((2 * r.nextDouble() - 1) * Math.pow(10, -r.nextInt(8)))));
    }
}
