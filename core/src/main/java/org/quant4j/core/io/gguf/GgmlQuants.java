package org.quant4j.core.io.gguf;

import org.quant4j.core.Half;
import org.quant4j.core.InvalidTensorException;

/**
 * Quantize/dequantize pairs of the ggml block types, following the reference implementations of
 * llama.cpp's {@code ggml/src/ggml-quants.c} ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref},
 * {@code quantize_row_q4_1_ref}, {@code quantize_row_q5_0_ref}, {@code quantize_row_q5_1_ref} and the matching {@code dequantize_row_*}) and the block layouts of
 * {@code ggml-common.h}. All multi-byte fields are little endian; fp16 is IEEE binary16 rounded to
 * nearest even ({@link Half}, as {@code GGML_FP32_TO_FP16}).
 * <ul>
 *   <li>Q8_0, 34 bytes per 32 values: fp16 {@code d}, 32 int8 {@code q}; {@code d = amax/127},
 *       {@code q = roundf(x/d)} (half away from zero), {@code x = d·q}.</li>
 *   <li>Q4_0, 18 bytes: fp16 {@code d}, 16 bytes of nibbles, element {@code j} in the low nibble of
 *       byte {@code j} and element {@code j+16} in the high nibble; {@code d = max/-8} with {@code max}
 *       the signed value of largest magnitude, {@code q = min(15, trunc(x/d + 8.5))}, {@code x = d·(q-8)}.</li>
 *   <li>Q4_1, 20 bytes: fp16 {@code d}, fp16 {@code m}, 16 bytes of nibbles as Q4_0;
 *       {@code d = (max-min)/15}, {@code m = min}, {@code q = min(15, trunc((x-min)/d + 0.5))},
 *       {@code x = d·q + m}.</li>
 *   <li>Q5_0, 22 bytes: fp16 {@code d}, a little-endian uint32 {@code qh} holding bit 4 of element {@code j} at
 *       bit {@code j}, 16 bytes of low nibbles as Q4_0; {@code d = max/-16},
 *       {@code q = min(31, trunc(x/d + 16.5))}, {@code x = d·(q-16)}.</li>
 *   <li>Q5_1, 24 bytes: fp16 {@code d}, fp16 {@code m}, {@code qh}, 16 bytes of low nibbles;
 *       {@code d = (max-min)/31}, {@code m = min}, {@code q = trunc((x-min)/d + 0.5)} (no clamp, as in ggml),
 *       {@code x = d·q + m}.</li>
 * </ul>
 * As in ggml, the codes are computed with the unrounded {@code d} (and {@code min}) and dequantized
 * with their fp16 values. Unlike ggml, non-finite inputs and a {@code d} or {@code m} beyond the fp16
 * range (where ggml would store an infinity) are refused with an {@link InvalidTensorException}.
 */
public final class GgmlQuants {
    private GgmlQuants() {}

    /** Quantizes {@code x} (length a multiple of the block size) to the bytes of {@code type}; {@code what} names it in errors. */
    public static byte[] quantize(GgmlType type, float[] x, String what) {
        byte[] out = new byte[Math.toIntExact(type.byteSize(x.length))];
        int blocks = x.length / type.blockSize();
        for (int b = 0; b < blocks; b++) {
            int xo = b * type.blockSize();
            int o = b * type.bytesPerBlock();
            try {
                switch (type) {
                    case F32 -> putF32(out, o, finite(x[xo]));
                    case F16 -> putF16(out, o, finite(x[xo]));
                    case BF16 -> putU16(out, o, toBf16(finite(x[xo])));
                    case Q8_0 -> quantizeQ8_0(x, xo, out, o);
                    case Q4_0 -> quantizeQ4_0(x, xo, out, o);
                    case Q4_1 -> quantizeQ4_1(x, xo, out, o);
                    case Q5_0 -> quantizeQ5_0(x, xo, out, o);
                    case Q5_1 -> quantizeQ5_1(x, xo, out, o);
                    default -> throw new InvalidTensorException("quantizing to " + type + " is not supported;"
                            + " use F32, F16, BF16, Q8_0, Q5_0, Q5_1, Q4_0 or Q4_1");
                }
            } catch (InvalidTensorException e) {
                throw new InvalidTensorException(what + ", " + type + " block " + b + " (elements " + xo + ".."
                        + (xo + type.blockSize() - 1) + "): " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** Dequantizes the bytes of {@code n} values of {@code type} starting at {@code data[offset]} into {@code out[0..n)}. */
    public static void dequantize(GgmlType type, byte[] data, int offset, float[] out) {
        int blocks = out.length / type.blockSize();
        for (int b = 0; b < blocks; b++) {
            int o = offset + b * type.bytesPerBlock();
            int yo = b * type.blockSize();
            switch (type) {
                case F32 -> out[yo] = Float.intBitsToFloat(getI32(data, o));
                case F16 -> out[yo] = Half.toFloat(getU16(data, o));
                case BF16 -> out[yo] = Float.intBitsToFloat(getU16(data, o) << 16);
                case Q8_0 -> dequantizeQ8_0(data, o, out, yo);
                case Q4_0 -> dequantizeQ4_0(data, o, out, yo);
                case Q4_1 -> dequantizeQ4_1(data, o, out, yo);
                case Q5_0 -> dequantizeQ5_0(data, o, out, yo);
                case Q5_1 -> dequantizeQ5_1(data, o, out, yo);
                default -> throw new IllegalArgumentException("dequantizing " + type + " is not supported");
            }
        }
    }

    /**
     * bfloat16 bits of a finite float, rounded to nearest even as ggml's {@code ggml_compute_fp32_to_bf16}
     * (ggml-impl.h).
     */
    static int toBf16(float x) {
        int u = Float.floatToRawIntBits(x);
        int b = ((u + (0x7FFF + ((u >>> 16) & 1))) >>> 16) & 0xFFFF;
        if ((b & 0x7FFF) == 0x7F80) {
            throw new InvalidTensorException("the value " + x + " is beyond the bf16 range, where ggml would store an "
                    + "infinity");
        }
        return b;
    }

    /** One Q8_0 block: {@code x[xo..xo+32)} into {@code out[o..o+34)}. */
    public static void quantizeQ8_0(float[] x, int xo, byte[] out, int o) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(finite(x[xo + j])));
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        putF16(out, o, d);
        for (int j = 0; j < 32; j++) {
            out[o + 2 + j] = (byte) roundAwayFromZero(x[xo + j] * id);
        }
    }

    public static void dequantizeQ8_0(byte[] in, int o, float[] y, int yo) {
        float d = Half.toFloat(getU16(in, o));
        for (int j = 0; j < 32; j++) {
            y[yo + j] = in[o + 2 + j] * d;
        }
    }

    /** One Q4_0 block: {@code x[xo..xo+32)} into {@code out[o..o+18)}. */
    public static void quantizeQ4_0(float[] x, int xo, byte[] out, int o) {
        float max = largestMagnitude(x, xo);
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        putF16(out, o, d);
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[xo + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[xo + 16 + j] * id + 8.5f));
            out[o + 2 + j] = (byte) (lo | hi << 4);
        }
    }

    public static void dequantizeQ4_0(byte[] in, int o, float[] y, int yo) {
        float d = Half.toFloat(getU16(in, o));
        for (int j = 0; j < 16; j++) {
            int b = in[o + 2 + j] & 0xFF;
            y[yo + j] = ((b & 0x0F) - 8) * d;
            y[yo + 16 + j] = ((b >>> 4) - 8) * d;
        }
    }

    /** One Q4_1 block: {@code x[xo..xo+32)} into {@code out[o..o+20)}. */
    public static void quantizeQ4_1(float[] x, int xo, byte[] out, int o) {
        float min = min(x, xo);
        float d = rangeStep(min, max(x, xo), 15f);
        float id = d != 0f ? 1f / d : 0f;
        putF16(out, o, d);
        putF16(out, o + 2, min);
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) ((x[xo + j] - min) * id + 0.5f));
            int hi = Math.min(15, (int) ((x[xo + 16 + j] - min) * id + 0.5f));
            out[o + 4 + j] = (byte) (lo | hi << 4);
        }
    }

    public static void dequantizeQ4_1(byte[] in, int o, float[] y, int yo) {
        float d = Half.toFloat(getU16(in, o));
        float m = Half.toFloat(getU16(in, o + 2));
        for (int j = 0; j < 16; j++) {
            int b = in[o + 4 + j] & 0xFF;
            y[yo + j] = (b & 0x0F) * d + m;
            y[yo + 16 + j] = (b >>> 4) * d + m;
        }
    }

    /** One Q5_0 block: {@code x[xo..xo+32)} into {@code out[o..o+22)}. */
    public static void quantizeQ5_0(float[] x, int xo, byte[] out, int o) {
        float max = largestMagnitude(x, xo);
        float d = max / -16f;
        float id = d != 0f ? 1f / d : 0f;
        putF16(out, o, d);
        int qh = 0;
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(31, (int) (x[xo + j] * id + 16.5f));
            int hi = Math.min(31, (int) (x[xo + 16 + j] * id + 16.5f));
            out[o + 6 + j] = (byte) ((lo & 0x0F) | (hi & 0x0F) << 4);
            qh |= (lo >>> 4 & 1) << j | (hi >>> 4 & 1) << (j + 16);
        }
        putI32(out, o + 2, qh);
    }

    public static void dequantizeQ5_0(byte[] in, int o, float[] y, int yo) {
        float d = Half.toFloat(getU16(in, o));
        int qh = getI32(in, o + 2);
        for (int j = 0; j < 16; j++) {
            int b = in[o + 6 + j] & 0xFF;
            y[yo + j] = (((b & 0x0F) | (qh >>> j & 1) << 4) - 16) * d;
            y[yo + 16 + j] = (((b >>> 4) | (qh >>> (j + 16) & 1) << 4) - 16) * d;
        }
    }

    /** One Q5_1 block: {@code x[xo..xo+32)} into {@code out[o..o+24)}. */
    public static void quantizeQ5_1(float[] x, int xo, byte[] out, int o) {
        float min = min(x, xo);
        float d = rangeStep(min, max(x, xo), 31f);
        float id = d != 0f ? 1f / d : 0f;
        putF16(out, o, d);
        putF16(out, o + 2, min);
        int qh = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (int) ((x[xo + j] - min) * id + 0.5f) & 0xFF;
            int hi = (int) ((x[xo + 16 + j] - min) * id + 0.5f) & 0xFF;
            out[o + 8 + j] = (byte) ((lo & 0x0F) | (hi & 0x0F) << 4);
            qh |= (lo >>> 4 & 1) << j | (hi >>> 4 & 1) << (j + 16);
        }
        putI32(out, o + 4, qh);
    }

    public static void dequantizeQ5_1(byte[] in, int o, float[] y, int yo) {
        float d = Half.toFloat(getU16(in, o));
        float m = Half.toFloat(getU16(in, o + 2));
        int qh = getI32(in, o + 4);
        for (int j = 0; j < 16; j++) {
            int b = in[o + 8 + j] & 0xFF;
            y[yo + j] = ((b & 0x0F) | (qh >>> j & 1) << 4) * d + m;
            y[yo + 16 + j] = ((b >>> 4) | (qh >>> (j + 16) & 1) << 4) * d + m;
        }
    }

    /** C's {@code roundf}: to nearest, halfway cases away from zero ({@code |v| + 0.5} is exact in double). */
    static int roundAwayFromZero(float v) {
        double r = Math.floor(Math.abs((double) v) + 0.5);
        return (int) (v < 0 ? -r : r);
    }

    /** fp16 bits of {@code v}; refuses a value beyond the fp16 range, where ggml would store an infinity. */
    static void putF16(byte[] out, int o, float v) {
        if (Math.abs(v) >= 65520f) {
            throw new InvalidTensorException("the value " + v + " is beyond the fp16 range (max 65504)");
        }
        int h = Half.fromFloat(v);
        out[o] = (byte) h;
        out[o + 1] = (byte) (h >>> 8);
    }

    static void putF32(byte[] out, int o, float v) {
        putI32(out, o, Float.floatToRawIntBits(v));
    }

    static void putI32(byte[] out, int o, int bits) {
        for (int k = 0; k < 4; k++) {
            out[o + k] = (byte) (bits >>> (8 * k));
        }
    }

    static void putU16(byte[] out, int o, int bits) {
        out[o] = (byte) bits;
        out[o + 1] = (byte) (bits >>> 8);
    }

    static int getU16(byte[] in, int o) {
        return (in[o] & 0xFF) | (in[o + 1] & 0xFF) << 8;
    }

    static int getI32(byte[] in, int o) {
        return (in[o] & 0xFF) | (in[o + 1] & 0xFF) << 8 | (in[o + 2] & 0xFF) << 16 | (in[o + 3] & 0xFF) << 24;
    }

    /** The block's signed value of largest magnitude (the first one, as ggml); refuses non-finite values. */
    private static float largestMagnitude(float[] x, int xo) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < 32; j++) {
            float v = finite(x[xo + j]);
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }

    private static float min(float[] x, int xo) {
        float min = Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            min = Math.min(min, finite(x[xo + j]));
        }
        return min;
    }

    private static float max(float[] x, int xo) {
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            max = Math.max(max, x[xo + j]);
        }
        return max;
    }

    /** {@code (max − min)/levels}, refused when the range overflows float. */
    private static float rangeStep(float min, float max, float levels) {
        float d = (max - min) / levels;
        if (!Float.isFinite(d)) {
            throw new InvalidTensorException("the range [" + min + ", " + max + "] overflows float");
        }
        return d;
    }

    private static float finite(float v) {
        if (!Float.isFinite(v)) {
            throw new InvalidTensorException("the value " + v + " is not finite");
        }
        return v;
    }
}
