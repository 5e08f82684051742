package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.quant4j.core.Half;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;

class ScaleRulesTest {

    @Test
    void smallestPositiveValueOfEachEncoding() {
        assertThat(ScaleRules.smallestPositive(NumberEncoding.FP32)).isEqualTo(Float.MIN_VALUE);
        assertThat(ScaleRules.smallestPositive(NumberEncoding.FP16)).isEqualTo(0x1p-24f);
        assertThat(ScaleRules.smallestPositive(NumberEncoding.BF16)).isEqualTo(0x1p-133f);
        assertThat(ScaleRules.smallestPositive(NumberEncoding.E4M3)).isEqualTo(0x1p-9f);
        assertThat(ScaleRules.smallestPositive(NumberEncoding.E8M0)).isEqualTo(0x1p-127f);
        for (NumberEncoding e : new NumberEncoding[] {NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16,
                NumberEncoding.E4M3, NumberEncoding.E8M0}) {
            float s = ScaleRules.smallestPositive(e);
            assertThat(NumberEncodings.round(e, s)).as("%s", e).isEqualTo(s);
        }
    }

    @Test
    void absmaxScaleNeverUnderflowsOrOverflows() {
        assertThat(ScaleRules.absmax(0f, 448f, NumberEncoding.FP32)).isEqualTo(1f);
        assertThat(ScaleRules.absmax(Float.MIN_VALUE, 448f, NumberEncoding.FP32)).isEqualTo(Float.MIN_VALUE);
        assertThat(ScaleRules.absmax(1e-30f, 6f, NumberEncoding.FP16)).isEqualTo(Half.toFloat(1));
        assertThat(ScaleRules.absmax(896f, 448f, NumberEncoding.FP16)).isEqualTo(2f);
        assertThat(ScaleRules.absmax(Float.MAX_VALUE, 1f, NumberEncoding.BF16)).isEqualTo(NumberEncodings.bf16ToFloat(0x7F7F));
        assertThat(ScaleRules.absmax(1e9f, 6f, NumberEncoding.E4M3)).isEqualTo(448f);
    }

    @Test
    void bf16RoundingSaturatesInsteadOfOverflowing() {
        assertThat(NumberEncodings.floatToBf16(Float.MAX_VALUE)).isEqualTo(0x7F7F);
        assertThat(NumberEncodings.floatToBf16(-Float.MAX_VALUE)).isEqualTo(0xFF7F);
        assertThat(NumberEncodings.floatToBf16(Float.POSITIVE_INFINITY)).isEqualTo(0x7F80);
        assertThat(NumberEncodings.floatToBf16(1.0f + 0x1p-8f)).isEqualTo(0x3F80); // tie to even
        assertThat(NumberEncodings.floatToBf16(1.0f + 0x1p-7f + 0x1p-8f)).isEqualTo(0x3F82);
    }

    @Test
    void mxSharedExponent() {
        assertThat(ScaleRules.mx(6f, MiniFloat.E2M1)).isEqualTo(1f);          // floor(log2 6) = 2
        assertThat(ScaleRules.mx(8f, MiniFloat.E2M1)).isEqualTo(2f);
        assertThat(ScaleRules.mx(0.99f, MiniFloat.E2M1)).isEqualTo(0.125f);   // floor(log2 0.99) = -1
        assertThat(ScaleRules.mx(448f, MiniFloat.E4M3)).isEqualTo(1f);        // emax 8
        assertThat(ScaleRules.mx(0f, MiniFloat.E2M1)).isEqualTo(0x1p-127f);
        assertThat(ScaleRules.mx(Float.MIN_VALUE, MiniFloat.E2M1)).isEqualTo(0x1p-127f);
        assertThat(ScaleRules.mx(0x1p-124f, MiniFloat.E2M1)).isEqualTo(0x1p-126f);
        assertThat(ScaleRules.mx(Float.MAX_VALUE, MiniFloat.E2M1)).isEqualTo(0x1p125f);
    }

    @Test
    void nvfp4Scales() {
        assertThat(ScaleRules.nvfp4Global(2688f)).isEqualTo(1f);
        assertThat(ScaleRules.nvfp4Global(0f)).isEqualTo(1f);
        assertThat(ScaleRules.nvfp4Global(1e-40f)).isEqualTo(Float.MIN_NORMAL);
        float g = ScaleRules.nvfp4Global(100f);
        assertThat(ScaleRules.nvfp4Block(100f, g)).isEqualTo(448f);
        assertThat(ScaleRules.nvfp4Block(0f, g)).isEqualTo(1f);
        assertThat(ScaleRules.nvfp4Block(1e-6f, g)).isEqualTo(0x1p-9f);
        assertThat(ScaleRules.nvfp4Block(100f / 448 * 13, g)).isEqualTo(13f);
    }
}
