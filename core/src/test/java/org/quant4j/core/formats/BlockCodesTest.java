package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.quant4j.core.BitPacker;

class BlockCodesTest {

    @Test
    void exactReciprocalOnlyForPowersOfTwo() {
        assertThat(BlockCodes.exactReciprocal(1f)).isEqualTo(1f);
        assertThat(BlockCodes.exactReciprocal(0.25f)).isEqualTo(4f);
        assertThat(BlockCodes.exactReciprocal(0x1p-127f)).isEqualTo(0x1p127f);
        assertThat(BlockCodes.exactReciprocal(0x1p127f)).isEqualTo(0x1p-127f);
        assertThat(BlockCodes.exactReciprocal(0.75f)).isZero();
        assertThat(BlockCodes.exactReciprocal(3f)).isZero();
        assertThat(BlockCodes.exactReciprocal(Float.MIN_VALUE)).isZero(); // 1/d overflows
        assertThat(BlockCodes.exactReciprocal(Float.POSITIVE_INFINITY)).isZero();
    }

    /** Multiplying by an exact reciprocal rounds like dividing, so codes do not depend on which is used. */
    @Property(tries = 2000)
    void multiplyingByAnExactReciprocalEqualsDividing(@ForAll int xBits, @ForAll @IntRange(min = -127, max = 127) int exponent) {
        float x = Float.intBitsToFloat(xBits);
        float d = Math.scalb(1f, exponent);
        if (Float.isFinite(x)) {
            assertThat(Float.floatToRawIntBits(x * BlockCodes.exactReciprocal(d))).isEqualTo(Float.floatToRawIntBits(x / d));
        }
    }

    /** Blocks of odd length start and end inside bytes; the nibbles still follow BitPacker's layout. */
    @Test
    void oddBlocksPackLikeBitPacker() {
        float[] x = new float[15];
        float[] divisor = {1f, 0.5f, 2f, 1f, 0.25f};
        for (int i = 0; i < x.length; i++) {
            x[i] = (i % 7) - 3f;
        }
        byte[] packed = BlockCodes.encode4(x, 3, divisor, MiniFloat.E2M1);
        byte[] expected = new byte[x.length];
        for (int i = 0; i < x.length; i++) {
            expected[i] = (byte) MiniFloat.E2M1.encode(x[i] / divisor[i / 3]);
        }
        assertThat(packed).isEqualTo(BitPacker.pack(expected, x.length, 4));
    }

    @Test
    void absMaxPerBlock() {
        float[] x = {1f, -3f, 2f, -0f, 0f, 0f, 5e-45f, -7f, 6f};
        assertThat(BlockCodes.absMax(x, 3)).containsExactly(3f, 0f, 7f);
        assertThat(BlockCodes.absMax(x, 9)).containsExactly(7f);
    }
}
