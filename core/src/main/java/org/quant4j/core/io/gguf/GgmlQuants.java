package org.quant4j.core.io.gguf;

import org.quant4j.core.Half;
import org.quant4j.core.InvalidTensorException;

/**
 * Quantize/dequantize pairs of the ggml block types, following the reference implementations of
 * llama.cpp's {@code ggml/src/ggml-quants.c} ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref},
 * {@code quantize_row_q4_1_ref}, {@code quantize_row_q5_0_ref}, {@code quantize_row_q5_1_ref} and the matching {@code dequantize_row_*}) and the block layouts of
 * {@code ggml-common.h}; the K-quants Q2_K..Q6_K are in {@link KQuants}, IQ4_NL and IQ4_XS in {@link IQuants}, the
 * importance-weighted rows of Q4_0..Q5_1 in {@link WeightedLegacyQuants}, all dispatched from here (reference rows:
 * {@link #quantize(GgmlType, float[], String)}; ggml's {@code quantize_<type>} with or without an importance per
 * column: {@link #quantize(GgmlType, float[], int, float[], String)}). All multi-byte fields are little endian; fp16 is IEEE binary16 rounded to
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

    /**
     * Quantizes {@code x} (length a multiple of the block size) to the bytes of {@code type} with ggml's reference
     * rows ({@code quantize_row_<type>_ref} over all of {@code x}); {@code what} names it in errors.
     */
    public static byte[] quantize(GgmlType type, float[] x, String what) {
        checkBlocks(type, x.length, what, "values");
        byte[] out = new byte[Math.toIntExact(type.byteSize(x.length))];
        int blocks = x.length / type.blockSize();
        int[] iq4Codes = new int[32]; // the code buffer quantize_row_iq4_nl_ref keeps across its blocks
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
                    case Q2_K -> KQuants.quantizeQ2K(finite(x, xo, 256), xo, out, o);
                    case Q3_K -> KQuants.quantizeQ3K(finite(x, xo, 256), xo, out, o);
                    case Q4_K -> KQuants.quantizeQ4K(finite(x, xo, 256), xo, out, o);
                    case Q5_K -> KQuants.quantizeQ5K(finite(x, xo, 256), xo, out, o);
                    case Q6_K -> KQuants.quantizeQ6K(finite(x, xo, 256), xo, out, o);
                    case IQ4_NL -> IQuants.quantizeIq4Nl(finite(x, xo, 32), xo, null, 0, IQuants.NTRY_REF, iq4Codes,
                            out, o);
                    case IQ4_XS -> IQuants.quantizeIq4Xs(finite(x, xo, 256), xo, null, 0, out, o);
                    default -> throw new InvalidTensorException("quantizing to " + type + " is not supported;"
                            + " use " + GgmlType.codecNames());
                }
            } catch (InvalidTensorException e) {
                throw blockError(what, type, b, xo, e);
            }
        }
        return out;
    }

    /**
     * Quantizes rows of {@code rowLength} values as llama.cpp's {@code quantize_<type>(src, dst, nrow, n_per_row,
     * quant_weights)} (what {@code llama-quantize} runs, through {@code ggml_quantize_chunk}): with an
     * {@code importance} per column ({@code rowLength} non-negative values, llama.cpp's importance matrix entry of
     * the tensor), the weighted rows {@code quantize_row_<type>_impl} of Q2_K..Q6_K, IQ4_NL, IQ4_XS, Q4_0, Q4_1,
     * Q5_0 and Q5_1 (F32, F16, BF16 and Q8_0 have none: ggml ignores the importance there); without
     * ({@code null}), the reference rows of {@link #quantize(GgmlType, float[], String)}, except IQ4_NL, where
     * {@code quantize_iq4_nl} searches the scale (as {@code quantize_iq4_xs} does) and its reference row does not.
     *
     * @throws InvalidTensorException naming {@code what} when the row length is not a multiple of the block, the
     *                                values are not whole rows, the importance has another length or a negative
     *                                or non-finite entry, or a value is not finite
     */
    public static byte[] quantize(GgmlType type, float[] x, int rowLength, float[] importance, String what) {
        if (rowLength <= 0 || x.length % rowLength != 0) {
            throw new InvalidTensorException(what + ": " + x.length + " values are not whole rows of " + rowLength);
        }
        checkBlocks(type, rowLength, what, "values per row");
        checkImportance(importance, rowLength, what);
        boolean weighted = switch (type) {
            case F32, F16, BF16, Q8_0 -> false; // quantize_q8_0 ignores the importance; the float types have none
            default -> true;
        };
        if (!weighted || importance == null && type != GgmlType.IQ4_NL) {
            return quantize(type, x, what);
        }
        byte[] out = new byte[Math.toIntExact(type.byteSize(x.length))];
        int bs = type.blockSize();
        for (int row = 0; row < x.length / rowLength; row++) {
            int ro = row * rowLength;
            float sigma2 = KQuants.sumOfSquares(x, ro, rowLength) / rowLength; // the legacy types' row variance
            for (int c = 0; c < rowLength; c += bs) {
                int xo = ro + c;
                int o = xo / bs * type.bytesPerBlock();
                try {
                    finite(x, xo, bs);
                    switch (type) {
                        case Q2_K -> KQuants.quantizeQ2KWeighted(x, xo, importance, c, out, o);
                        case Q3_K -> KQuants.quantizeQ3KWeighted(x, xo, importance, c, out, o);
                        case Q4_K -> KQuants.quantizeQ4KWeighted(x, xo, importance, c, out, o);
                        case Q5_K -> KQuants.quantizeQ5KWeighted(x, xo, importance, c, out, o);
                        case Q6_K -> KQuants.quantizeQ6KWeighted(x, xo, importance, c, out, o);
                        case IQ4_NL -> IQuants.quantizeIq4Nl(x, xo, importance, c, IQuants.NTRY_SEARCH, new int[32],
                                out, o);
                        case IQ4_XS -> IQuants.quantizeIq4Xs(x, xo, importance, c, out, o);
                        case Q4_0, Q4_1, Q5_0, Q5_1 ->
                                WeightedLegacyQuants.quantize(type, x, xo, sigma2, importance, c, out, o);
                        default -> throw new InvalidTensorException("quantizing to " + type + " is not supported;"
                                + " use " + GgmlType.codecNames());
                    }
                } catch (InvalidTensorException e) {
                    throw blockError(what, type, xo / bs, xo, e);
                }
            }
        }
        return out;
    }

    private static void checkBlocks(GgmlType type, int n, String what, String unit) {
        if (n % type.blockSize() != 0) {
            throw new InvalidTensorException(what + ": " + n + " " + unit + " are not a multiple of the " + type
                    + " block of " + type.blockSize());
        }
    }

    private static void checkImportance(float[] importance, int rowLength, String what) {
        if (importance == null) {
            return;
        }
        if (importance.length != rowLength) {
            throw new InvalidTensorException(what + ": the importance has " + importance.length
                    + " values, the rows " + rowLength);
        }
        for (int c = 0; c < rowLength; c++) {
            if (!(importance[c] >= 0) || importance[c] == Float.POSITIVE_INFINITY) {
                throw new InvalidTensorException(what + ": the importance of column " + c + " is " + importance[c]
                        + "; it must be finite and non-negative");
            }
        }
    }

    private static InvalidTensorException blockError(String what, GgmlType type, int b, int xo,
                                                     InvalidTensorException e) {
        return new InvalidTensorException(what + ", " + type + " block " + b + " (elements " + xo + ".."
                + (xo + type.blockSize() - 1) + "): " + e.getMessage(), e);
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
                case Q2_K -> KQuants.dequantizeQ2K(data, o, out, yo);
                case Q3_K -> KQuants.dequantizeQ3K(data, o, out, yo);
                case Q4_K -> KQuants.dequantizeQ4K(data, o, out, yo);
                case Q5_K -> KQuants.dequantizeQ5K(data, o, out, yo);
                case Q6_K -> KQuants.dequantizeQ6K(data, o, out, yo);
                case IQ4_NL -> IQuants.dequantizeIq4Nl(data, o, out, yo);
                case IQ4_XS -> IQuants.dequantizeIq4Xs(data, o, out, yo);
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
        if (!(Math.abs(v) < 65520f)) {
            throw new InvalidTensorException("the value " + v + " is beyond the fp16 range (max 65504)"
                    + (Float.isNaN(v) ? " (NaN)" : ""));
        }
        int h = Half.fromFloat(v);
        out[o] = (byte) h;
        out[o + 1] = (byte) (h >>> 8);
    }

    /** The fp16 value stored at {@code in[o..o+2)} ({@code GGML_FP16_TO_FP32}). */
    static float fp16(byte[] in, int o) {
        return Half.toFloat(getU16(in, o));
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

    /** {@code x}, after checking that {@code x[xo..xo+n)} are finite. */
    private static float[] finite(float[] x, int xo, int n) {
        for (int j = 0; j < n; j++) finite(x[xo + j]);
        return x;
    }

    private static float finite(float v) {
        if (!Float.isFinite(v)) {
            throw new InvalidTensorException("the value " + v + " is not finite");
        }
        return v;
    }
}
