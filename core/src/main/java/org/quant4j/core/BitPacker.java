package org.quant4j.core;

/**
 * Dense bit packing of unsigned codes. Codes of {@code b} bits (1..8) form one little-endian
 * bitstream: code {@code i} occupies stream bits {@code [i·b, i·b + b)}, stream bit {@code k} is bit
 * {@code k mod 8} of byte {@code k / 8}. No bits are wasted except the padding of the last byte.
 * Ternary codes (0, 1, 2) are packed five to a byte in base 3 ({@code 3^5 = 243 ≤ 256}): 1.6 bits each.
 *
 * <p>The offset variants pack or unpack a slice of a larger stream; a slice that starts at a code
 * index that is a multiple of 8 (of 5 for ternary) starts on a byte boundary, so a stream can be
 * packed in independent chunks. Packing assigns every output byte it touches (the padding bits of
 * the last byte are zero), so the target need not be cleared first.
 */
public final class BitPacker {
    private BitPacker() {}

    /** Bytes needed for {@code n} codes of this format. */
    public static long packedLength(Format format, int bits, long n) {
        if (format == Format.TERNARY) {
            return (n + 4) / 5;
        }
        return (n * bits + 7) / 8;
    }

    /** Packs {@code codes[0..n)} (each {@code < 2^bits}) into a new array. */
    public static byte[] pack(byte[] codes, int n, int bits) {
        checkBits(bits);
        byte[] out = new byte[Math.toIntExact(((long) n * bits + 7) / 8)];
        pack(codes, 0, n, bits, out, 0);
        return out;
    }

    /**
     * Packs {@code codes[from..from+n)} into {@code ceil(n·bits/8)} bytes of {@code out} starting at
     * {@code outOffset}. Bits of a code above {@code bits} are ignored.
     */
    public static void pack(byte[] codes, int from, int n, int bits, byte[] out, int outOffset) {
        checkBits(bits);
        switch (bits) {
            case 8 -> System.arraycopy(codes, from, out, outOffset, n);
            case 4 -> pack4(codes, from, n, out, outOffset);
            case 2 -> pack2(codes, from, n, out, outOffset);
            default -> packGeneric(codes, from, n, bits, out, outOffset);
        }
    }

    /** Unpacks {@code n} codes of {@code bits} bits from {@code packed} into {@code out[0..n)}. */
    public static void unpack(byte[] packed, int n, int bits, byte[] out) {
        unpack(packed, 0, n, bits, out, 0);
    }

    /** Unpacks {@code n} codes of {@code bits} bits starting at byte {@code packedOffset} into {@code out[outOffset..)}. */
    public static void unpack(byte[] packed, int packedOffset, int n, int bits, byte[] out, int outOffset) {
        checkBits(bits);
        switch (bits) {
            case 8 -> System.arraycopy(packed, packedOffset, out, outOffset, n);
            case 4 -> unpack4(packed, packedOffset, n, out, outOffset);
            case 2 -> unpack2(packed, packedOffset, n, out, outOffset);
            default -> unpackGeneric(packed, packedOffset, n, bits, out, outOffset);
        }
    }

    /** Packs ternary codes (0, 1, 2) five per byte: byte = c0 + 3·c1 + 9·c2 + 27·c3 + 81·c4. */
    public static byte[] packTernary(byte[] codes, int n) {
        byte[] out = new byte[(n + 4) / 5];
        packTernary(codes, 0, n, out, 0);
        return out;
    }

    /** Packs ternary {@code codes[from..from+n)} into {@code ceil(n/5)} bytes of {@code out} from {@code outOffset}. */
    public static void packTernary(byte[] codes, int from, int n, byte[] out, int outOffset) {
        int full = n / 5;
        for (int j = 0, i = from; j < full; j++, i += 5) {
            out[outOffset + j] = (byte) (codes[i] + 3 * codes[i + 1] + 9 * codes[i + 2] + 27 * codes[i + 3]
                    + 81 * codes[i + 4]);
        }
        if (full * 5 < n) {
            int v = 0;
            for (int i = from + n - 1; i >= from + full * 5; i--) {
                v = v * 3 + codes[i];
            }
            out[outOffset + full] = (byte) v;
        }
    }

    /** Unpacks {@code n} ternary codes; a byte above 242 cannot come from {@link #packTernary}. */
    public static void unpackTernary(byte[] packed, int n, byte[] out) {
        unpackTernary(packed, 0, n, out, 0);
    }

    /**
     * Unpacks {@code n} ternary codes starting at byte {@code packedOffset} into {@code out[outOffset..)}.
     *
     * @throws QuantizationException if a byte is above 242 (it cannot come from {@link #packTernary})
     */
    public static void unpackTernary(byte[] packed, int packedOffset, int n, byte[] out, int outOffset) {
        int full = n / 5;
        for (int j = 0, i = outOffset; j < full; j++, i += 5) {
            int v = packed[packedOffset + j] & 0xFF;
            if (v > 242) {
                throw corruptTernary(packedOffset + j, v);
            }
            int q1 = v / 3;
            int q2 = q1 / 3;
            int q3 = q2 / 3;
            int q4 = q3 / 3;
            out[i] = (byte) (v - 3 * q1);
            out[i + 1] = (byte) (q1 - 3 * q2);
            out[i + 2] = (byte) (q2 - 3 * q3);
            out[i + 3] = (byte) (q3 - 3 * q4);
            out[i + 4] = (byte) q4;
        }
        if (full * 5 < n) {
            int v = packed[packedOffset + full] & 0xFF;
            if (v > 242) {
                throw corruptTernary(packedOffset + full, v);
            }
            for (int i = outOffset + full * 5; i < outOffset + n; i++) {
                out[i] = (byte) (v % 3);
                v /= 3;
            }
        }
    }

    private static QuantizationException corruptTernary(int index, int value) {
        return new QuantizationException("ternary code byte " + index + " is " + value
                + " > 242 (five base-3 digits reach at most 242): corrupt data");
    }

    private static void checkBits(int bits) {
        if (bits < 1 || bits > 8) {
            throw new IllegalArgumentException("bits must be 1..8, got " + bits);
        }
    }

    private static void pack4(byte[] c, int from, int n, byte[] out, int o) {
        int pairs = n / 2;
        for (int j = 0, i = from; j < pairs; j++, i += 2) {
            out[o + j] = (byte) ((c[i] & 0x0F) | (c[i + 1] << 4));
        }
        if ((n & 1) != 0) {
            out[o + pairs] = (byte) (c[from + n - 1] & 0x0F);
        }
    }

    private static void unpack4(byte[] p, int o, int n, byte[] out, int to) {
        int pairs = n / 2;
        for (int j = 0, i = to; j < pairs; j++, i += 2) {
            int v = p[o + j];
            out[i] = (byte) (v & 0x0F);
            out[i + 1] = (byte) ((v >> 4) & 0x0F);
        }
        if ((n & 1) != 0) {
            out[to + n - 1] = (byte) (p[o + pairs] & 0x0F);
        }
    }

    private static void pack2(byte[] c, int from, int n, byte[] out, int o) {
        int quads = n / 4;
        for (int j = 0, i = from; j < quads; j++, i += 4) {
            out[o + j] = (byte) ((c[i] & 3) | (c[i + 1] & 3) << 2 | (c[i + 2] & 3) << 4 | c[i + 3] << 6);
        }
        if (quads * 4 < n) {
            int v = 0;
            for (int k = 0, i = from + quads * 4; i < from + n; k++, i++) {
                v |= (c[i] & 3) << (2 * k);
            }
            out[o + quads] = (byte) v;
        }
    }

    private static void unpack2(byte[] p, int o, int n, byte[] out, int to) {
        int quads = n / 4;
        for (int j = 0, i = to; j < quads; j++, i += 4) {
            int v = p[o + j];
            out[i] = (byte) (v & 3);
            out[i + 1] = (byte) ((v >> 2) & 3);
            out[i + 2] = (byte) ((v >> 4) & 3);
            out[i + 3] = (byte) ((v >> 6) & 3);
        }
        for (int k = 0, i = to + quads * 4; i < to + n; k++, i++) {
            out[i] = (byte) ((p[o + quads] >> (2 * k)) & 3);
        }
    }

    /** Any width: eight codes at a time go through a 64-bit accumulator (8·b bits = b whole bytes). */
    private static void packGeneric(byte[] c, int from, int n, int bits, byte[] out, int o) {
        int mask = (1 << bits) - 1;
        int octets = n / 8;
        for (int t = 0; t < octets; t++) {
            long acc = 0;
            int i = from + t * 8;
            for (int k = 0; k < 8; k++) {
                acc |= (long) (c[i + k] & mask) << (k * bits);
            }
            int base = o + t * bits;
            for (int k = 0; k < bits; k++) {
                out[base + k] = (byte) (acc >>> (8 * k));
            }
        }
        int rest = n - octets * 8;
        if (rest > 0) {
            long acc = 0;
            int i = from + octets * 8;
            for (int k = 0; k < rest; k++) {
                acc |= (long) (c[i + k] & mask) << (k * bits);
            }
            int base = o + octets * bits;
            int tailBytes = (rest * bits + 7) / 8;
            for (int k = 0; k < tailBytes; k++) {
                out[base + k] = (byte) (acc >>> (8 * k));
            }
        }
    }

    private static void unpackGeneric(byte[] p, int o, int n, int bits, byte[] out, int to) {
        int mask = (1 << bits) - 1;
        int octets = n / 8;
        for (int t = 0; t < octets; t++) {
            int base = o + t * bits;
            long acc = 0;
            for (int k = 0; k < bits; k++) {
                acc |= (long) (p[base + k] & 0xFF) << (8 * k);
            }
            int i = to + t * 8;
            for (int k = 0; k < 8; k++) {
                out[i + k] = (byte) ((acc >>> (k * bits)) & mask);
            }
        }
        int rest = n - octets * 8;
        if (rest > 0) {
            int base = o + octets * bits;
            int tailBytes = (rest * bits + 7) / 8;
            long acc = 0;
            for (int k = 0; k < tailBytes; k++) {
                acc |= (long) (p[base + k] & 0xFF) << (8 * k);
            }
            int i = to + octets * 8;
            for (int k = 0; k < rest; k++) {
                out[i + k] = (byte) ((acc >>> (k * bits)) & mask);
            }
        }
    }
}
