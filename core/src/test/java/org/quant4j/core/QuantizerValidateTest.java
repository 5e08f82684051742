package org.quant4j.core;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class QuantizerValidateTest {
    private static final QuantSpec INT4_G4 = QuantSpec.integer(4, true, Granularity.perGroup(4));

    @Property(tries = 100)
    void aNonFiniteValueIsReportedWithTheTensorNameAndItsPosition(
            @ForAll @IntRange(min = 1, max = 6) int rows, @ForAll @IntRange(min = 1, max = 5) int groups,
            @ForAll @IntRange(min = 0, max = 1000) int where, @ForAll @IntRange(min = 0, max = 2) int kind) {
        int cols = 4 * groups;
        float[] data = new float[rows * cols];
        int index = where % data.length;
        float bad = kind == 0 ? Float.NaN : kind == 1 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
        data[index] = bad;
        assertThatThrownBy(() -> Quantizer.quantize("encoder.layer.2.fc1.weight", data, new long[] {rows, cols}, INT4_G4))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("encoder.layer.2.fc1.weight")
                .hasMessageContaining(String.valueOf(bad))
                .hasMessageContaining("row " + index / cols + ", column " + index % cols)
                .hasMessageContaining("flat index " + index);
    }

    @Test
    void aGroupSizeThatDoesNotDivideTheRowIsRejected() {
        assertThatThrownBy(() -> Quantizer.quantize("fc.weight", new float[3 * 10], new long[] {3, 10},
                QuantSpec.integer(4, true, Granularity.perGroup(4))))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("fc.weight")
                .hasMessageContaining("group size 4")
                .hasMessageContaining("row width 10");
        // a conv weight [out, in, kh, kw] has rows of in·kh·kw = 18 columns
        assertThatThrownBy(() -> Quantizer.validate("conv.weight", new float[2 * 2 * 3 * 3],
                new long[] {2, 2, 3, 3}, QuantSpec.integer(4, true, Granularity.perGroup(4))))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("row width 18");
        assertThatCode(() -> Quantizer.validate("conv.weight", new float[2 * 2 * 3 * 3],
                new long[] {2, 2, 3, 3}, QuantSpec.integer(4, true, Granularity.perGroup(9)))).doesNotThrowAnyException();
    }

    @Test
    void shapesThatDoNotMatchTheDataOrAreEmptyAreRejected() {
        assertThatThrownBy(() -> Quantizer.validate("w", new float[6], new long[] {2, 4}, INT4_G4))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("8 elements")
                .hasMessageContaining("has 6");
        assertThatThrownBy(() -> Quantizer.validate("w", new float[0], new long[] {0, 4}, INT4_G4))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> Quantizer.validate("w", new float[4], new long[] {-1, -4}, INT4_G4))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("negative");
    }

    @Test
    void aScaleTheEncodingCannotHoldIsReportedWithTheTensorAndBlock() {
        float[] data = {1f, 2f, 3f, 4f, 5f, 6f, 7f, 2e6f};
        assertThatThrownBy(() -> Quantizer.quantize("head.weight", data, new long[] {2, 4},
                QuantSpec.integer(2, true, Granularity.perGroup(2))))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("head.weight")
                .hasMessageContaining("row 1, columns 2..3")
                .hasMessageContaining("FP16");
        QuantSpec fp32 = QuantSpec.builder().bits(2).groupSize(2).scaleEncoding(NumberEncoding.FP32).build();
        assertThatCode(() -> Quantizer.quantize("head.weight", data, new long[] {2, 4}, fp32)).doesNotThrowAnyException();
    }
}
