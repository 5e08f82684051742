package org.quant4j.core;

/**
 * Dense bit packing of unsigned codes. Codes of {@code b} bits (1..8) form one little-endian
 * bitstream: code {@code i} occupies stream bits {@code [i·b, i·b + b)}, stream bit {@code k} is bit
 * {@code k mod 8} of byte {@code k / 8}. No bits are wasted except the padding of the last byte.
 * Ternary codes (0, 1, 2) are packed five to a byte in base 3 ({@code 3^5 = 243 ≤ 256}): 1.6 bits each.
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
        if (bits < 1 || bits > 8) {
            throw new IllegalArgumentException("bits must be 1..8, got " + bits);
        }
        byte[] out = new byte[Math.toIntExact(((long) n * bits + 7) / 8)];
        switch (bits) {
            case 8 -> System.arraycopy(codes, 0, out, 0, n);
            case 4 -> pack4(codes, n, out);
            case 2 -> pack2(codes, n, out);
            default -> packGeneric(codes, n, bits, out);
        }
        return out;
    }

    /** Unpacks {@code n} codes of {@code bits} bits from {@code packed} into {@code out[0..n)}. */
    public static void unpack(byte[] packed, int n, int bits, byte[] out) {
        if (bits < 1 || bits > 8) {
            throw new IllegalArgumentException("bits must be 1..8, got " + bits);
        }
        switch (bits) {
            case 8 -> System.arraycopy(packed, 0, out, 0, n);
            case 4 -> unpack4(packed, n, out);
            case 2 -> unpack2(packed, n, out);
            default -> unpackGeneric(packed, n, bits, out);
        }
    }

    /** Packs ternary codes (0, 1, 2) five per byte: byte = c0 + 3·c1 + 9·c2 + 27·c3 + 81·c4. */
    public static byte[] packTernary(byte[] codes, int n) {
        byte[] out = new byte[(n + 4) / 5];
        int full = n / 5;
        for (int j = 0, i = 0; j < full; j++, i += 5) {
            out[j] = (byte) (codes[i] + 3 * codes[i + 1] + 9 * codes[i + 2] + 27 * codes[i + 3] + 81 * codes[i + 4]);
        }
        if (full * 5 < n) {
            int v = 0;
            for (int i = n - 1; i >= full * 5; i--) {
                v = v * 3 + codes[i];
            }
            out[full] = (byte) v;
        }
        return out;
    }

    /** Unpacks {@code n} ternary codes; a byte above 242 cannot come from {@link #packTernary}. */
    public static void unpackTernary(byte[] packed, int n, byte[] out) {
        for (int j = 0, i = 0; i < n; j++) {
            int v = packed[j] & 0xFF;
            if (v > 242) {
                throw new QuantizationException("ternary code byte " + j + " is " + v + " > 242: corrupt data");
            }
            for (int k = 0; k < 5 && i < n; k++, i++) {
                out[i] = (byte) (v % 3);
                v /= 3;
            }
        }
    }

    private static void pack4(byte[] c, int n, byte[] out) {
        int pairs = n / 2;
        for (int j = 0; j < pairs; j++) {
            out[j] = (byte) ((c[2 * j] & 0x0F) | (c[2 * j + 1] << 4));
        }
        if ((n & 1) != 0) {
            out[pairs] = (byte) (c[n - 1] & 0x0F);
        }
    }

    private static void unpack4(byte[] p, int n, byte[] out) {
        int pairs = n / 2;
        for (int j = 0; j < pairs; j++) {
            int v = p[j];
            out[2 * j] = (byte) (v & 0x0F);
            out[2 * j + 1] = (byte) ((v >> 4) & 0x0F);
        }
        if ((n & 1) != 0) {
            out[n - 1] = (byte) (p[pairs] & 0x0F);
        }
    }

    private static void pack2(byte[] c, int n, byte[] out) {
        int quads = n / 4;
        for (int j = 0, i = 0; j < quads; j++, i += 4) {
            out[j] = (byte) ((c[i] & 3) | (c[i + 1] & 3) << 2 | (c[i + 2] & 3) << 4 | c[i + 3] << 6);
        }
        for (int i = quads * 4; i < n; i++) {
            out[quads] |= (byte) ((c[i] & 3) << (2 * (i & 3)));
        }
    }

    private static void unpack2(byte[] p, int n, byte[] out) {
        int quads = n / 4;
        for (int j = 0, i = 0; j < quads; j++, i += 4) {
            int v = p[j];
            out[i] = (byte) (v & 3);
            out[i + 1] = (byte) ((v >> 2) & 3);
            out[i + 2] = (byte) ((v >> 4) & 3);
            out[i + 3] = (byte) ((v >> 6) & 3);
        }
        for (int i = quads * 4; i < n; i++) {
            out[i] = (byte) ((p[quads] >> (2 * (i & 3))) & 3);
        }
    }

    /** Any width: eight codes at a time go through a 64-bit accumulator (8·b bits = b whole bytes). */
    private static void packGeneric(byte[] c, int n, int bits, byte[] out) {
        int mask = (1 << bits) - 1;
        int octets = n / 8;
        for (int o = 0; o < octets; o++) {
            long acc = 0;
            int i = o * 8;
            for (int k = 0; k < 8; k++) {
                acc |= (long) (c[i + k] & mask) << (k * bits);
            }
            int base = o * bits;
            for (int k = 0; k < bits; k++) {
                out[base + k] = (byte) (acc >>> (8 * k));
            }
        }
        for (int i = octets * 8; i < n; i++) {
            long bit = (long) i * bits;
            int v = c[i] & mask;
            for (int k = 0; k < bits; k++, bit++) {
                if (((v >> k) & 1) != 0) {
                    out[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
                }
            }
        }
    }

    private static void unpackGeneric(byte[] p, int n, int bits, byte[] out) {
        int mask = (1 << bits) - 1;
        int octets = n / 8;
        for (int o = 0; o < octets; o++) {
            int base = o * bits;
            long acc = 0;
            for (int k = 0; k < bits; k++) {
                acc |= (long) (p[base + k] & 0xFF) << (8 * k);
            }
            int i = o * 8;
            for (int k = 0; k < 8; k++) {
                out[i + k] = (byte) ((acc >>> (k * bits)) & mask);
            }
        }
        for (int i = octets * 8; i < n; i++) {
            long bit = (long) i * bits;
            int v = 0;
            for (int k = 0; k < bits; k++, bit++) {
                v |= ((p[(int) (bit >>> 3)] >> (bit & 7)) & 1) << k;
            }
            out[i] = (byte) v;
        }
    }
}
