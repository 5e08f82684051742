package org.quant4j.core;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Quantizer#refuseAllZero}: a nonzero tensor that quantizes to zeros only is refused with the encoding that keeps it. */
class QuantizerAllZeroTest {
    private static final long[] SHAPE = {8, 64};

    private static float[] gaussian(double sigma) {
        Random r = new Random(3);
        float[] w = new float[512];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * sigma);
        return w;
    }

    private static void refuse(float[] w, QuantSpec spec) {
        Quantizer.refuseAllZero("w", w, Quantizer.quantize("w", w, SHAPE, spec));
    }

    @Test
    void tinyWeightsUnderFp16ScalesAreRefusedNamingFp32() {
        for (QuantSpec spec : new QuantSpec[] {QuantSpec.integer(4, true, Granularity.perChannel()),
                QuantSpec.integer(8, false, Granularity.perGroup(32)),
                QuantSpec.nf4(false).toBuilder().scaleEncoding(NumberEncoding.FP16).build()}) {
            assertThatThrownBy(() -> refuse(gaussian(5e-9), spec)).as(spec.toString())
                    .isInstanceOf(InvalidTensorException.class).hasMessageContaining("tensor 'w' (" + spec + ")")
                    .hasMessageContaining("every value quantizes to 0")
                    .hasMessageContaining("FP16 scales cannot be that small: store the scales as FP32");
            assertThatCode(() -> refuse(gaussian(5e-9), spec.toBuilder().scaleEncoding(NumberEncoding.FP32).build()))
                    .doesNotThrowAnyException();
        }
    }

    @Test
    void whatNoEncodingKeepsSaysSo() {
        assertThatThrownBy(() -> refuse(gaussian(5e-9), QuantSpec.ternary())).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("no TERNARY scale is that small");
    }

    @Test
    void ordinaryZeroAndPartlyTinyTensorsPass() {
        QuantSpec g32 = QuantSpec.integer(4, true, Granularity.perGroup(32));
        float[] w = gaussian(0.05);
        for (int i = 0; i < 32; i++) w[i] *= 1e-7f; // one group flushes to zero, the tensor does not
        assertThatCode(() -> refuse(w, g32)).doesNotThrowAnyException();
        assertThatCode(() -> refuse(new float[512], g32)).doesNotThrowAnyException();
        assertThatCode(() -> refuse(gaussian(0.05), QuantSpec.nf4(true))).doesNotThrowAnyException();
    }
}
