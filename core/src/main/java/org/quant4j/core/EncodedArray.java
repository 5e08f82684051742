package org.quant4j.core;

import java.util.Arrays;
import java.util.Objects;

/**
 * A float array as it is stored: the encoded bytes are the truth, {@link #values()} their exact decoding.
 * Holds the scales or zero points of a {@link QuantizedTensor}.
 */
public final class EncodedArray {
    private final NumberEncoding encoding;
    private final int bits;
    private final int count;
    private final byte[] bytes;
    private final float[] values;

    private EncodedArray(NumberEncoding encoding, int bits, int count, byte[] bytes, float[] values) {
        this.encoding = encoding;
        this.bits = bits;
        this.count = count;
        this.bytes = bytes;
        this.values = values;
    }

    /**
     * Encodes {@code values}; every value must already be exactly representable (use
     * {@link NumberEncodings#round} first), except for DQ8 whose codes are chosen here.
     *
     * @param bits bit width for {@link NumberEncoding#UINT}, ignored otherwise
     */
    public static EncodedArray encode(NumberEncoding encoding, int bits, float[] values) {
        byte[] b = NumberEncodings.encode(encoding, bits, values);
        return new EncodedArray(encoding, bits, values.length, b, NumberEncodings.decode(encoding, bits, values.length, b));
    }

    /** Wraps stored bytes (from a file); checks the length and decodes. */
    public static EncodedArray fromBytes(NumberEncoding encoding, int bits, int count, byte[] bytes) {
        long expected = NumberEncodings.byteLength(encoding, bits, count);
        if (bytes.length != expected) {
            throw new QuantizationException(encoding + " array of " + count + " values needs " + expected
                    + " bytes, got " + bytes.length);
        }
        return new EncodedArray(encoding, bits, count, bytes.clone(),
                NumberEncodings.decode(encoding, bits, count, bytes));
    }

    public NumberEncoding encoding() { return encoding; }
    public int bits() { return bits; }
    public int count() { return count; }

    /** The stored bytes (a copy). */
    public byte[] bytes() { return bytes.clone(); }

    /** Bytes stored. */
    public int byteLength() { return bytes.length; }

    /** The decoded values (shared, do not modify). */
    public float[] values() { return values; }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncodedArray e && e.encoding == encoding && e.bits == bits && e.count == count
                && Arrays.equals(e.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(encoding, bits, count, Arrays.hashCode(bytes));
    }
}
