package org.quant4j.core.formats;

import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedTensor;

/**
 * The hot loops shared by the float and codebook formats, on raw arrays. In a row-major tensor every
 * {@link org.quant4j.core.Granularity} block is a run of {@code blockLength} consecutive elements
 * (the whole tensor, one row, or {@code g} columns of one row), so block {@code b} is
 * {@code [b·L, (b+1)·L)}.
 *
 * <p>Element {@code i} of block {@code b} is encoded as {@code codebook.encode(x[i] / divisor[b])}
 * and decodes to {@code (codebook.decode(code) * scale[b]) * globalScale}. 4-bit codes are packed as
 * {@link org.quant4j.core.BitPacker} packs them: two per byte, the even element in the low nibble.
 */
final class BlockCodes {
    private BlockCodes() {}

    /** Elements per block of a tensor of this shape under the spec's granularity. */
    static int blockLength(long[] shape, QuantSpec spec) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        long rows = shape.length <= 1 ? 1 : shape[0];
        long cols = rows == 0 ? 0 : n / rows;
        return Math.toIntExact(spec.granularity().blockLength(rows, cols));
    }

    /** Largest magnitude of each block (finite input). */
    static float[] absMax(float[] x, int blockLength) {
        int blocks = x.length / blockLength;
        float[] amax = new float[blocks];
        if (blocks == 1) { // one block (per tensor): reduce parts of it in parallel
            float[] partial = new float[Math.max(1, Math.min(64, x.length / Ranges.PARALLEL_MIN_ELEMENTS))];
            int parts = partial.length;
            Ranges.run(parts, x.length, (from, to) -> {
                for (int p = from; p < to; p++) {
                    partial[p] = absMax(x, (int) ((long) x.length * p / parts), (int) ((long) x.length * (p + 1) / parts));
                }
            });
            for (float m : partial) {
                amax[0] = Math.max(amax[0], m);
            }
        } else {
            Ranges.run(blocks, x.length, (from, to) -> {
                for (int b = from; b < to; b++) {
                    amax[b] = absMax(x, b * blockLength, (b + 1) * blockLength);
                }
            });
        }
        return amax;
    }

    private static float absMax(float[] x, int from, int to) {
        float m = 0;
        for (int i = from; i < to; i++) {
            m = Math.max(m, Math.abs(x[i]));
        }
        return m;
    }

    /** One byte per element: {@code codebook.encode(x[i] / divisor[block])}. */
    static byte[] encode8(float[] x, int blockLength, float[] divisor, ElementCodebook codebook) {
        byte[] out = new byte[x.length];
        Ranges.run(x.length, x.length, (from, to) -> {
            for (int b = from / blockLength, i = from; i < to; b++) {
                int end = Math.min(to, (b + 1) * blockLength);
                float d = divisor[b];
                float inv = exactReciprocal(d);
                boolean multiply = inv != 0;
                for (; i < end; i++) {
                    out[i] = (byte) codebook.encode(multiply ? x[i] * inv : x[i] / d);
                }
            }
        });
        return out;
    }

    /** Two 4-bit codes per byte, even element in the low nibble. */
    static byte[] encode4(float[] x, int blockLength, float[] divisor, ElementCodebook codebook) {
        int n = x.length;
        byte[] out = new byte[(n + 1) / 2];
        // ranges of whole bytes, so no two tasks write the same byte
        Ranges.run(out.length, n, (from, to) -> {
            int stop = Math.min(n, 2 * to);
            for (int b = 2 * from / blockLength, i = 2 * from; i < stop; b++) {
                int end = Math.min(stop, (b + 1) * blockLength);
                float d = divisor[b];
                float inv = exactReciprocal(d);
                boolean multiply = inv != 0;
                if ((i & 1) == 1) { // block starts at an odd element: high nibble of a shared byte
                    out[i >> 1] |= (byte) (codebook.encode(multiply ? x[i] * inv : x[i] / d) << 4);
                    i++;
                }
                for (; i + 1 < end; i += 2) {
                    int lo = codebook.encode(multiply ? x[i] * inv : x[i] / d);
                    int hi = codebook.encode(multiply ? x[i + 1] * inv : x[i + 1] / d);
                    out[i >> 1] = (byte) (lo | hi << 4);
                }
                if (i < end) { // block ends at an even element: low nibble only
                    out[i >> 1] |= (byte) codebook.encode(multiply ? x[i] * inv : x[i] / d);
                    i++;
                }
            }
        });
        return out;
    }

    /**
     * {@code 1/d} when it is exact (d a power of two, as every MX scale), else 0. Then {@code x * (1/d)}
     * is the same real number as {@code x / d}, so it rounds to the same float — a multiplication
     * instead of a division, with identical results.
     */
    static float exactReciprocal(float d) {
        float inv = 1f / d;
        return Float.isFinite(inv) && d == Math.scalb(1f, Math.getExponent(d)) ? inv : 0f;
    }

    /** Decodes 8-bit codes: {@code (decode(code) * scale[block]) * globalScale}. */
    static void decode8(QuantizedTensor t, ElementCodebook codebook, float[] out) {
        int n = checkedSize(t, out);
        int blockLength = blockLength(t.shape(), t.spec());
        byte[] codes = t.codes();
        float[] scale = t.scales().values();
        float g = t.globalScale();
        float[] table = new float[256];
        for (int c = 0; c < 256; c++) {
            table[c] = codebook.decode(c);
        }
        Ranges.run(n, n, (from, to) -> {
            for (int b = from / blockLength, i = from; i < to; b++) {
                int end = Math.min(to, (b + 1) * blockLength);
                float s = scale[b];
                for (; i < end; i++) {
                    out[i] = table[codes[i] & 0xFF] * s * g;
                }
            }
        });
    }

    /** Decodes packed 4-bit codes through a 16-entry table per block. */
    static void decode4(QuantizedTensor t, ElementCodebook codebook, float[] out) {
        int n = checkedSize(t, out);
        int blockLength = blockLength(t.shape(), t.spec());
        byte[] packed = t.codes();
        float[] scale = t.scales().values();
        float g = t.globalScale();
        Ranges.run((n + 1) / 2, n, (from, to) -> {
            float[] lut = new float[16];
            int stop = Math.min(n, 2 * to);
            for (int b = 2 * from / blockLength, i = 2 * from; i < stop; b++) {
                int end = Math.min(stop, (b + 1) * blockLength);
                float s = scale[b];
                for (int c = 0; c < 16; c++) {
                    lut[c] = codebook.decode(c) * s * g;
                }
                if ((i & 1) == 1) {
                    out[i] = lut[(packed[i >> 1] >> 4) & 15];
                    i++;
                }
                for (; i + 1 < end; i += 2) {
                    int v = packed[i >> 1];
                    out[i] = lut[v & 15];
                    out[i + 1] = lut[(v >> 4) & 15];
                }
                if (i < end) {
                    out[i] = lut[packed[i >> 1] & 15];
                    i++;
                }
            }
        });
    }

    private static int checkedSize(QuantizedTensor t, float[] out) {
        if (out.length != t.size()) {
            throw new QuantizationException("cannot dequantize " + t + " into an array of " + out.length
                    + " floats: it has " + t.size() + " elements");
        }
        return out.length;
    }
}
