package org.quant4j.ptq.gptq;

import org.quant4j.ptq.SyntheticLayer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.BitPacker;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * The blocked, row-parallel, float32 GPTQ equals an independent textbook Algorithm 1 in double
 * ({@link TextbookGptq}) on a random 512×512 layer, to 1e-4 on every dequantized weight.
 */
class GptqMatchesTextbookTest {
    private static final int N = 512;
    private static final SyntheticLayer LAYER = SyntheticLayer.create(42, N, N, 2048, 96, 6);

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("int4 per channel", spec(4, true, Granularity.perChannel()), false, false, 128),
                Arguments.of("int4 per tensor, act-order", spec(4, true, Granularity.perTensor()), true, false, 128),
                Arguments.of("int4 g128 act-order", spec(4, true, Granularity.perGroup(128)), true, false, 128),
                Arguments.of("int3 asym g64", spec(3, false, Granularity.perGroup(64)), false, false, 128),
                Arguments.of("int4 g64 act-order, block 96", spec(4, true, Granularity.perGroup(64)), true, false, 96),
                Arguments.of("int4 g256 act-order (group > block)", spec(4, true, Granularity.perGroup(256)), true, false, 128),
                Arguments.of("int4 asym g128 act-order static groups", spec(4, false, Granularity.perGroup(128)), true, true, 128));
    }

    private static QuantSpec spec(int bits, boolean symmetric, Granularity granularity) {
        return QuantSpec.builder().bits(bits).symmetric(symmetric).granularity(granularity)
                .scaleEncoding(NumberEncoding.FP32).build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void blockedSolverEqualsTextbookAlgorithm(String name, QuantSpec spec, boolean actOrder, boolean staticGroups,
                                              int blockSize) {
        LayerStats stats = LAYER.stats("fc");
        Gptq gptq = Gptq.builder().actOrder(actOrder).staticGroups(staticGroups).blockSize(blockSize).build();
        QuantizedTensor solved = gptq.solve("fc", LAYER.weight(), stats, spec);

        byte[] codes = new byte[N * N];
        BitPacker.unpack(solved.codes(), N * N, spec.bits(), codes);
        INDArray h = stats.hessian();
        TextbookGptq textbook = new TextbookGptq(spec, actOrder, staticGroups, Gptq.DEFAULT_PERC_DAMP);
        double[] expected = textbook.run(LAYER.weight().data().asFloat(), N, N, h.data().asFloat(), codes);
        float[] actual = solved.dequantizeToArray();

        double maxDifference = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDifference = Math.max(maxDifference, Math.abs(expected[i] - actual[i]));
        }
        assertThat(maxDifference).as("largest |textbook - blocked| over %d weights", expected.length).isLessThan(1e-4);
        assertThat(textbook.ties).as("rounding midpoints decided by float/double noise").isLessThan(N * N / 2000);
        assertThat(solved.hasGroupIndex()).isEqualTo(actOrder && !staticGroups
                && spec.granularity().kind() == Granularity.Kind.GROUP);
    }
}
