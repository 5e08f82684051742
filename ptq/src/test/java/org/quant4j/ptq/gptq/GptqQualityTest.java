package org.quant4j.ptq.gptq;

import org.quant4j.ptq.SyntheticLayer;
import org.quant4j.ptq.rtn.Rtn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;

/** On correlated activations with outlier channels, GPTQ's held-out output error is below RTN's. */
class GptqQualityTest {
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(256, 512, QuantSpec.integer(4, true, Granularity.perChannel()), false),
                Arguments.of(256, 512, QuantSpec.integer(4, true, Granularity.perGroup(128)), true),
                Arguments.of(384, 256, QuantSpec.integer(4, false, Granularity.perGroup(64)), false),
                Arguments.of(256, 512, QuantSpec.integer(3, true, Granularity.perChannel()), true),
                Arguments.of(128, 384, QuantSpec.integer(3, false, Granularity.perGroup(128)), true),
                Arguments.of(512, 256, QuantSpec.integer(3, false, Granularity.perGroup(32)), false));
    }

    @ParameterizedTest(name = "{0}x{1} {2} act-order={3}")
    @MethodSource("cases")
    void gptqBeatsRoundToNearestOnHeldOutInputs(int out, int in, QuantSpec spec, boolean actOrder) {
        SyntheticLayer layer = SyntheticLayer.create(out * 31L + in, out, in, 4 * in, in / 4, 4);
        LayerStats stats = layer.stats("fc");
        double gptq = layer.relativeOutputError(Gptq.builder().actOrder(actOrder).build()
                .solve("fc", layer.weight(), stats, spec).dequantize());
        double rtn = layer.relativeOutputError(new Rtn().solve("fc", layer.weight(), null, spec).dequantize());
        double rtnMse = layer.relativeOutputError(Rtn.mse().solve("fc", layer.weight(), null, spec).dequantize());
        assertThat(gptq).as("GPTQ %g vs RTN %g", gptq, rtn).isLessThan(0.8 * rtn);
        assertThat(gptq).as("GPTQ %g vs RTN with MSE ranges %g", gptq, rtnMse).isLessThan(rtnMse);
    }
}
