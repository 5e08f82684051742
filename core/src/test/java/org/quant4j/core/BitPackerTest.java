package org.quant4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BitPackerTest {

    private static byte[] randomCodes(Random rnd, int n, int bits) {
        byte[] codes = new byte[n];
        for (int i = 0; i < n; i++) {
            codes[i] = (byte) rnd.nextInt(1 << bits);
        }
        return codes;
    }

    /** The documented layout, one bit at a time: code i, bit k is stream bit i·b+k = bit (i·b+k) mod 8 of byte (i·b+k)/8. */
    private static byte[] referencePack(byte[] codes, int n, int bits) {
        byte[] out = new byte[(n * bits + 7) / 8];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < bits; k++) {
                if (((codes[i] >> k) & 1) != 0) {
                    int bit = i * bits + k;
                    out[bit / 8] |= (byte) (1 << (bit % 8));
                }
            }
        }
        return out;
    }

    @Property(tries = 400)
    void packThenUnpackGivesTheCodesBack(@ForAll @IntRange(min = 1, max = 8) int bits,
                                         @ForAll @IntRange(min = 0, max = 100) int n, @ForAll long seed) {
        byte[] codes = randomCodes(new Random(seed), n, bits);
        byte[] packed = BitPacker.pack(codes, n, bits);
        assertThat(packed).hasSize((n * bits + 7) / 8);
        assertThat(BitPacker.packedLength(Format.INT, bits, n)).isEqualTo(packed.length);
        assertThat(packed).isEqualTo(referencePack(codes, n, bits));
        byte[] back = new byte[n];
        BitPacker.unpack(packed, n, bits, back);
        assertThat(back).isEqualTo(codes);
    }

    @Property(tries = 400)
    void everyPackedStreamWithZeroPaddingIsTheImageOfExactlyOneCodeSequence(
            @ForAll @IntRange(min = 1, max = 8) int bits, @ForAll @IntRange(min = 0, max = 100) int n,
            @ForAll long seed) {
        byte[] stream = new byte[(n * bits + 7) / 8];
        new Random(seed).nextBytes(stream);
        int usedBits = n * bits;
        if (usedBits % 8 != 0) {
            stream[stream.length - 1] &= (byte) ((1 << (usedBits % 8)) - 1);
        }
        byte[] codes = new byte[n];
        BitPacker.unpack(stream, n, bits, codes);
        for (byte c : codes) {
            assertThat(c & 0xFF).isLessThan(1 << bits);
        }
        assertThat(BitPacker.pack(codes, n, bits)).isEqualTo(stream);
    }

    @Property(tries = 200)
    void slicesPackIntoALargerArrayAtAnOffsetAndOverwriteWhatWasThere(
            @ForAll @IntRange(min = 1, max = 8) int bits, @ForAll @IntRange(min = 0, max = 100) int n,
            @ForAll @IntRange(min = 0, max = 7) int from, @ForAll @IntRange(min = 0, max = 9) int outOffset,
            @ForAll long seed) {
        Random rnd = new Random(seed);
        byte[] codes = randomCodes(rnd, from + n + 3, bits);
        byte[] target = new byte[outOffset + (n * bits + 7) / 8 + 2];
        Arrays.fill(target, (byte) 0xFF);
        BitPacker.pack(codes, from, n, bits, target, outOffset);

        byte[] alone = BitPacker.pack(Arrays.copyOfRange(codes, from, from + n), n, bits);
        assertThat(Arrays.copyOfRange(target, outOffset, outOffset + alone.length)).isEqualTo(alone);
        assertThat(target[target.length - 1]).isEqualTo((byte) 0xFF);
        assertThat(target[target.length - 2]).isEqualTo((byte) 0xFF);
        for (int i = 0; i < outOffset; i++) {
            assertThat(target[i]).isEqualTo((byte) 0xFF);
        }
        byte[] back = new byte[n + 4];
        BitPacker.unpack(target, outOffset, n, bits, back, 4);
        assertThat(Arrays.copyOfRange(back, 4, 4 + n)).isEqualTo(Arrays.copyOfRange(codes, from, from + n));
    }

    @Test
    void packingAChunkAtAMultipleOfEightCodesEqualsPackingTheWholeStream() {
        Random rnd = new Random(3);
        for (int bits = 1; bits <= 8; bits++) {
            byte[] codes = randomCodes(rnd, 203, bits);
            byte[] whole = BitPacker.pack(codes, codes.length, bits);
            byte[] chunked = new byte[whole.length];
            BitPacker.pack(codes, 0, 96, bits, chunked, 0);
            BitPacker.pack(codes, 96, 107, bits, chunked, 96 / 8 * bits);
            assertThat(chunked).as("bits %d", bits).isEqualTo(whole);
        }
    }

    @Test
    void bitsOutsideOneToEightAreRejected() {
        assertThatThrownBy(() -> BitPacker.pack(new byte[4], 4, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> BitPacker.pack(new byte[4], 4, 9)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> BitPacker.unpack(new byte[4], 4, 9, new byte[4]))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Property(tries = 300)
    void ternaryPacksFiveBase3DigitsPerByte(@ForAll @IntRange(min = 0, max = 100) int n, @ForAll long seed) {
        Random rnd = new Random(seed);
        byte[] codes = new byte[n];
        for (int i = 0; i < n; i++) {
            codes[i] = (byte) rnd.nextInt(3);
        }
        byte[] packed = BitPacker.packTernary(codes, n);
        assertThat(packed).hasSize((n + 4) / 5);
        assertThat(BitPacker.packedLength(Format.TERNARY, 2, n)).isEqualTo(packed.length);
        for (int j = 0; j < packed.length; j++) {
            int expected = 0;
            for (int k = 4; k >= 0; k--) {
                int i = 5 * j + k;
                expected = expected * 3 + (i < n ? codes[i] : 0);
            }
            assertThat(packed[j] & 0xFF).isEqualTo(expected);
        }
        byte[] back = new byte[n];
        BitPacker.unpackTernary(packed, n, back);
        assertThat(back).isEqualTo(codes);
    }

    @Test
    void everyTernaryByteUpTo242DecodesAndRepacksToItself() {
        for (int v = 0; v <= 242; v++) {
            byte[] digits = new byte[5];
            BitPacker.unpackTernary(new byte[] {(byte) v}, 5, digits);
            assertThat(BitPacker.packTernary(digits, 5)).containsExactly((byte) v);
        }
    }

    @Test
    void ternaryBytesAbove242AreRejectedAsCorrupt() {
        for (int v = 243; v <= 255; v++) {
            byte[] full = {0, (byte) v, 0};
            assertThatThrownBy(() -> BitPacker.unpackTernary(full, 15, new byte[15]))
                    .isInstanceOf(QuantizationException.class)
                    .hasMessageContaining("byte 1")
                    .hasMessageContaining(String.valueOf(v))
                    .hasMessageContaining("corrupt");
            byte[] tail = {0, (byte) v};
            assertThatThrownBy(() -> BitPacker.unpackTernary(tail, 7, new byte[7]))
                    .isInstanceOf(QuantizationException.class)
                    .hasMessageContaining("byte 1");
        }
    }

    @Test
    void ternarySlicesAtMultiplesOfFiveCodesPackIndependently() {
        Random rnd = new Random(11);
        byte[] codes = new byte[123];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) rnd.nextInt(3);
        }
        byte[] whole = BitPacker.packTernary(codes, codes.length);
        byte[] chunked = new byte[whole.length];
        Arrays.fill(chunked, (byte) 0x7F);
        BitPacker.packTernary(codes, 0, 40, chunked, 0);
        BitPacker.packTernary(codes, 40, 83, chunked, 8);
        assertThat(chunked).isEqualTo(whole);
        byte[] back = new byte[83];
        BitPacker.unpackTernary(whole, 8, 83, back, 0);
        assertThat(back).isEqualTo(Arrays.copyOfRange(codes, 40, 123));
    }
}
