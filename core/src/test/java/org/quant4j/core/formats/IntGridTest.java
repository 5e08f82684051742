package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.quant4j.core.Half;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.Granularity;

class IntGridTest {
    private static final NumberEncoding FP32 = NumberEncoding.FP32;

    @Test
    void symmetricScaleIsAmaxOverHalfTheCodeRange() {
        // int8: amax / 127.5, int2: amax / 1.5 (PyTorch qint / GPTQ sym)
        assertThat(new IntGrid(8, true, FP32, null).fitRange(-15.9375f, 1f).scale()).isEqualTo(0.125f);
        assertThat(new IntGrid(2, true, FP32, null).fitRange(-1f, 3f).scale()).isEqualTo(2f);
        IntGrid.Params p = new IntGrid(4, true, FP32, null).fitRange(-1f, 7.5f);
        assertThat(p.scale()).isEqualTo(1f);
        assertThat(p.zero()).isEqualTo(8f);
    }

    @Test
    void symmetricCodesAreTheSignedLevelShiftedByHalfTheRange() {
        IntGrid g = new IntGrid(4, true, FP32, null);
        assertThat(g.code(0f, 1f, 8f)).isEqualTo(8);
        assertThat(g.code(-8f, 1f, 8f)).isEqualTo(0);
        assertThat(g.code(7f, 1f, 8f)).isEqualTo(15);
        assertThat(g.code(100f, 1f, 8f)).isEqualTo(15);
        assertThat(g.code(-100f, 1f, 8f)).isEqualTo(0);
        assertThat(g.value(0, 1f, 8f)).isEqualTo(-8f);
        assertThat(g.value(15, 1f, 8f)).isEqualTo(7f);
    }

    @Test
    void roundingIsHalfToEvenLikeTorchRound() {
        IntGrid g = new IntGrid(8, true, FP32, null);
        float[] x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 2.5000002f};
        int[] q = {0, 2, 2, 0, -2, -2, 0, 3};
        for (int i = 0; i < x.length; i++) {
            assertThat(g.code(x[i], 1f, 128f) - 128).as("rint(%s)", x[i]).isEqualTo(q[i]);
        }
        byte[] codes = new byte[x.length];
        g.codes(x, 0, x.length, 1f, 128f, codes, 0);
        for (int i = 0; i < x.length; i++) {
            assertThat((codes[i] & 0xFF) - 128).as("block rint(%s)", x[i]).isEqualTo(q[i]);
        }
    }

    @Test
    void asymmetricGridWidensTheRangeToZeroAndRoundsTheZeroPoint() {
        IntGrid g = new IntGrid(4, false, FP32, NumberEncoding.UINT);
        IntGrid.Params p = g.fitRange(-1f, 14f);
        assertThat(p.scale()).isEqualTo(1f);
        assertThat(p.zero()).isEqualTo(1f);
        assertThat(g.fitRange(-1.5f, 13.5f).zero()).isEqualTo(2f); // rint(1.5), half to even
        assertThat(g.fitRange(-2.5f, 12.5f).zero()).isEqualTo(2f); // rint(2.5)
        assertThat(g.fitRange(-2.6f, 12.4f).zero()).isEqualTo(3f);
        IntGrid.Params positive = g.fitRange(2f, 3f); // min' = 0
        assertThat(positive.scale()).isEqualTo(0.2f);
        assertThat(positive.zero()).isEqualTo(0f);
        IntGrid.Params negative = g.fitRange(-3f, -2f); // max' = 0
        assertThat(negative.scale()).isEqualTo(0.2f);
        assertThat(negative.zero()).isEqualTo(15f);
    }

    @Test
    void fractionalZeroPointIsTheUnroundedOneInItsEncoding() {
        IntGrid fp16 = new IntGrid(4, false, FP32, NumberEncoding.FP16);
        assertThat(fp16.fitRange(-1f, 3f).zero()).isEqualTo(3.75f);
        IntGrid fp32 = new IntGrid(3, false, FP32, NumberEncoding.FP32);
        IntGrid.Params p = fp32.fitRange(-0.1f, 1f);
        assertThat(p.zero()).isEqualTo((float) (0.1f / (double) p.scale()));
        // the code of x is rint(x/scale + zero): the zero is not rounded first
        assertThat(fp16.code(0f, 0.25f, 3.75f)).isEqualTo(4);
        assertThat(fp16.value(4, 0.25f, 3.75f)).isEqualTo(0.0625f);
    }

    @Test
    void theScaleIsRoundedUpToTheNextFp16Value() {
        IntGrid g = new IntGrid(4, true, NumberEncoding.FP16, null);
        float amax = 0.1225f;
        double exact = amax / 7.5;
        float scale = g.fitRange(-amax, 0f).scale();
        assertThat((double) scale).isGreaterThanOrEqualTo(exact);
        assertThat(Half.toFloat(Half.fromFloat(scale))).isEqualTo(scale);
        assertThat((double) Half.toFloat(Half.fromFloat(scale) - 1)).isLessThan(exact);
        // round-to-nearest would have gone down here, and -amax would fall outside the grid by more than scale/2
        assertThat(Half.toFloat(Half.fromFloat((float) exact))).isLessThan((float) exact);
    }

    @Test
    void anAllZeroBlockGetsScaleOneAndCodesOfZero() {
        for (int bits = 2; bits <= 8; bits++) {
            IntGrid sym = new IntGrid(bits, true, NumberEncoding.FP16, null);
            IntGrid.Params p = sym.fit(new float[] {0f, -0f, 0f}, 0, 3);
            assertThat(p.scale()).isEqualTo(1f);
            assertThat(p.zero()).isEqualTo(1 << (bits - 1));
            assertThat(sym.code(-0f, p)).isEqualTo(1 << (bits - 1));
            IntGrid asym = new IntGrid(bits, false, NumberEncoding.FP16, NumberEncoding.UINT);
            IntGrid.Params q = asym.fit(new float[4], 0, 4);
            assertThat(q.scale()).isEqualTo(1f);
            assertThat(q.zero()).isEqualTo(0f);
            assertThat(asym.fakeQuantize(0f, q.scale(), q.zero())).isEqualTo(0f);
        }
    }

    @Test
    void aStridedBlockIsFittedLikeTheSameValuesGathered() {
        Random rnd = new Random(5);
        float[] matrix = new float[7 * 9];
        for (int i = 0; i < matrix.length; i++) {
            matrix[i] = (float) rnd.nextGaussian();
        }
        IntGrid g = new IntGrid(3, false, NumberEncoding.FP16, NumberEncoding.UINT);
        for (int col = 0; col < 9; col++) {
            float[] column = new float[7];
            for (int r = 0; r < 7; r++) {
                column[r] = matrix[r * 9 + col];
            }
            assertThat(g.fit(matrix, col, 7, 9)).isEqualTo(g.fit(column, 0, 7));
        }
    }

    @Property(tries = 300)
    void blockMethodsAgreeWithTheScalarOnesAndStayWithinHalfAScale(
            @ForAll @IntRange(min = 2, max = 8) int bits, @ForAll boolean symmetric,
            @ForAll @IntRange(min = 0, max = 2) int zeroKind, @ForAll @IntRange(min = -30, max = 30) int exponent,
            @ForAll @IntRange(min = 1, max = 64) int length, @ForAll long seed) {
        NumberEncoding zeroEncoding = new NumberEncoding[] {NumberEncoding.UINT, NumberEncoding.FP16, FP32}[zeroKind];
        IntGrid g = new IntGrid(bits, symmetric, NumberEncoding.FP16, zeroEncoding);
        Random rnd = new Random(seed);
        float[] x = new float[length];
        double magnitude = Math.pow(2, exponent);
        double shift = rnd.nextGaussian() * magnitude;
        for (int i = 0; i < length; i++) {
            x[i] = (float) (shift + rnd.nextGaussian() * magnitude);
        }
        IntGrid.Params p;
        try {
            p = g.fit(x, 0, length);
        } catch (InvalidTensorException e) {
            assertThat(exponent).as("only huge blocks exceed FP16 scales").isGreaterThan(10);
            return;
        }
        byte[] codes = new byte[length];
        g.codes(x, 0, length, p.scale(), p.zero(), codes, 0);
        float[] values = new float[length];
        g.values(codes, 0, length, p.scale(), p.zero(), values, 0);
        float[] fake = new float[length];
        IntGrid.Params refit = g.fakeQuantize(x, 0, length, fake, 0);
        assertThat(refit).isEqualTo(p);
        for (int i = 0; i < length; i++) {
            int c = g.code(x[i], p);
            assertThat(codes[i] & 0xFF).isEqualTo(c);
            assertThat(values[i]).isEqualTo(g.value(c, p.scale(), p.zero()));
            assertThat(fake[i]).isEqualTo(values[i]);
            assertThat(g.fakeQuantize(x[i], p.scale(), p.zero())).isEqualTo(values[i]);
            assertThat(Math.abs((double) x[i] - values[i])).isLessThanOrEqualTo(p.scale() / 2.0 * (1 + 1e-4)
                    + (Math.abs(x[i]) + Math.abs(values[i])) * 0x1p-23);
        }
    }

    @Test
    void aScaleBeyondTheEncodingIsReportedWithTheRange() {
        IntGrid fp16 = new IntGrid(8, true, NumberEncoding.FP16, null);
        assertThatThrownBy(() -> fp16.fitRange(-1e7f, 1f))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("FP16")
                .hasMessageContaining("-1.0E7")
                .hasMessageContaining("FP32 or BF16");
        IntGrid e8m0 = new IntGrid(2, true, NumberEncoding.E8M0, null);
        assertThatThrownBy(() -> e8m0.fitRange(-3e38f, 0f)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("E8M0");
        assertThatThrownBy(() -> fp16.fitRange(Float.NaN, 1f)).isInstanceOf(InvalidTensorException.class);
        assertThatThrownBy(() -> fp16.fitRange(2f, 1f)).isInstanceOf(InvalidTensorException.class);
    }

    @Test
    void valuesSaturateWhereATwoBitGridReachesBeyondTheFloatRange() {
        IntGrid g = new IntGrid(2, true, FP32, null);
        float amax = 0x1.8p127f; // 2.55e38
        IntGrid.Params p = g.fitRange(-amax, amax);
        assertThat(p.scale()).isEqualTo(0x1p127f);
        assertThat(g.code(-amax, p)).isEqualTo(0); // rint(-1.5) = -2: the grid point -2^128
        assertThat(g.value(0, p.scale(), p.zero())).isEqualTo(-Float.MAX_VALUE);
        float[] out = new float[2];
        g.fakeQuantize(new float[] {-amax, amax}, 0, 2, p, out, 0);
        assertThat(out).containsExactly(-Float.MAX_VALUE, 0x1p127f);
        byte[] codes = {0, 3};
        g.values(codes, 0, 2, p.scale(), p.zero(), out, 0);
        assertThat(out).containsExactly(-Float.MAX_VALUE, 0x1p127f);
    }

    @Test
    void theGridOfASpecAndBadGridsAreChecked() {
        IntGrid g = IntGrid.of(QuantSpec.integer(3, false, Granularity.perGroup(32)));
        assertThat(g.bits()).isEqualTo(3);
        assertThat(g.maxCode()).isEqualTo(7);
        assertThat(g.symmetric()).isFalse();
        assertThat(g.zeroEncoding()).isEqualTo(NumberEncoding.UINT);
        assertThat(g.scaleEncoding()).isEqualTo(NumberEncoding.FP16);
        assertThatThrownBy(() -> IntGrid.of(QuantSpec.ternary())).isInstanceOf(InvalidSpecException.class);
        assertThatThrownBy(() -> new IntGrid(1, true, FP32, null)).isInstanceOf(InvalidSpecException.class);
        assertThatThrownBy(() -> new IntGrid(9, true, FP32, null)).isInstanceOf(InvalidSpecException.class);
        assertThatThrownBy(() -> new IntGrid(4, false, FP32, NumberEncoding.BF16))
                .isInstanceOf(InvalidSpecException.class);
        assertThatThrownBy(() -> new IntGrid(4, true, NumberEncoding.UINT, null))
                .isInstanceOf(InvalidSpecException.class);
    }
}
