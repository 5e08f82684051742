package org.quant4j.ptq.gptq;

import org.quant4j.ptq.SyntheticLayer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * A {@link Gptq} instance reuses its native workspace between solves: layers of different shapes,
 * solved one after another by one instance, give exactly what fresh instances give.
 */
class GptqWorkspaceReuseTest {
    private static final QuantSpec SPEC = QuantSpec.integer(4, true, Granularity.perGroup(32));

    @Test
    void reusedWorkspaceGivesTheSameTensorsAsFreshOnes() {
        SyntheticLayer large = SyntheticLayer.create(3, 96, 192, 512, 48, 4);
        SyntheticLayer small = SyntheticLayer.create(4, 40, 64, 256, 16, 2);
        Gptq shared = Gptq.builder().actOrder(true).build();

        QuantizedTensor largeFirst = shared.solve("large", large.weight(), large.stats("large"), SPEC);
        QuantizedTensor smallAfter = shared.solve("small", small.weight(), small.stats("small"), SPEC);
        QuantizedTensor largeAgain = shared.solve("large", large.weight(), large.stats("large"), SPEC);
        shared.releaseWorkspace();
        QuantizedTensor afterRelease = shared.solve("small", small.weight(), small.stats("small"), SPEC);

        QuantizedTensor largeFresh = Gptq.builder().actOrder(true).build()
                .solve("large", large.weight(), large.stats("large"), SPEC);
        QuantizedTensor smallFresh = Gptq.builder().actOrder(true).build()
                .solve("small", small.weight(), small.stats("small"), SPEC);

        assertSame(largeFirst, largeFresh);
        assertSame(largeAgain, largeFresh);
        assertSame(smallAfter, smallFresh);
        assertSame(afterRelease, smallFresh);
    }

    private static void assertSame(QuantizedTensor actual, QuantizedTensor expected) {
        assertThat(actual.codes()).isEqualTo(expected.codes());
        assertThat(actual.dequantizeToArray()).containsExactly(expected.dequantizeToArray());
        assertThat(actual.groupIndex()).isEqualTo(expected.groupIndex());
    }
}
