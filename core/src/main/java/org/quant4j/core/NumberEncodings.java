package org.quant4j.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.quant4j.core.formats.DoubleQuant;
import org.quant4j.core.formats.MiniFloat;

/**
 * Encode/decode pairs of the {@link NumberEncoding}s (little-endian), and rounding of a float to the
 * nearest value representable in one (round-to-nearest-even; FP16/BF16/E4M3 saturate to their
 * largest finite value, E8M0 rounds to the nearest power of two in log scale, clamped to
 * {@code 2^-127..2^127}).
 */
public final class NumberEncodings {
    private NumberEncodings() {}

    /** Rounds {@code v} to the nearest value representable in {@code e} (FP32/UINT/DQ8: unchanged). */
    public static float round(NumberEncoding e, float v) {
        return switch (e) {
            case FP32, UINT, DQ8 -> v;
            case FP16 -> Half.toFloat(Half.fromFloat(v));
            case BF16 -> bf16ToFloat(floatToBf16(v));
            case E8M0 -> e8m0ToFloat(floatToE8m0(v));
            case E4M3 -> MiniFloat.E4M3.decode(MiniFloat.E4M3.encode(v));
        };
    }

    public static long byteLength(NumberEncoding e, int bits, int count) {
        return switch (e) {
            case UINT -> ((long) count * bits + 7) / 8;
            case DQ8 -> DoubleQuant.byteLength(count);
            default -> (long) count * e.bytesPerValue();
        };
    }

    public static byte[] encode(NumberEncoding e, int bits, float[] values) {
        int n = values.length;
        switch (e) {
            case FP32: {
                ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(values);
                return b.array();
            }
            case FP16:
            case BF16: {
                byte[] out = new byte[2 * n];
                for (int i = 0; i < n; i++) {
                    int h = e == NumberEncoding.FP16 ? Half.fromFloat(values[i]) : floatToBf16(values[i]);
                    out[2 * i] = (byte) h;
                    out[2 * i + 1] = (byte) (h >>> 8);
                }
                return out;
            }
            case E8M0: {
                byte[] out = new byte[n];
                for (int i = 0; i < n; i++) out[i] = (byte) floatToE8m0(values[i]);
                return out;
            }
            case E4M3: {
                byte[] out = new byte[n];
                for (int i = 0; i < n; i++) out[i] = (byte) MiniFloat.E4M3.encode(values[i]);
                return out;
            }
            case UINT: {
                byte[] codes = new byte[n];
                int max = (1 << bits) - 1;
                for (int i = 0; i < n; i++) {
                    float v = values[i];
                    if (v != Math.rint(v) || v < 0 || v > max) {
                        throw new QuantizationException("value " + v + " at index " + i + " is not a "
                                + bits + "-bit unsigned integer");
                    }
                    codes[i] = (byte) (int) v;
                }
                return BitPacker.pack(codes, n, bits);
            }
            case DQ8:
                return DoubleQuant.encode(values);
            default:
                throw new IllegalStateException(e.toString());
        }
    }

    public static float[] decode(NumberEncoding e, int bits, int count, byte[] bytes) {
        float[] out = new float[count];
        switch (e) {
            case FP32 -> ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            case FP16, BF16 -> {
                for (int i = 0; i < count; i++) {
                    int h = (bytes[2 * i] & 0xFF) | (bytes[2 * i + 1] & 0xFF) << 8;
                    out[i] = e == NumberEncoding.FP16 ? Half.toFloat(h) : bf16ToFloat(h);
                }
            }
            case E8M0 -> {
                for (int i = 0; i < count; i++) out[i] = e8m0ToFloat(bytes[i] & 0xFF);
            }
            case E4M3 -> {
                for (int i = 0; i < count; i++) out[i] = MiniFloat.E4M3.decode(bytes[i] & 0xFF);
            }
            case UINT -> {
                byte[] codes = new byte[count];
                BitPacker.unpack(bytes, count, bits, codes);
                for (int i = 0; i < count; i++) out[i] = codes[i] & 0xFF;
            }
            case DQ8 -> {
                return DoubleQuant.decode(count, bytes);
            }
            default -> throw new IllegalStateException(e.toString());
        }
        return out;
    }

    /**
     * bfloat16 bits of {@code v}, round-to-nearest-even; finite values that round beyond the largest
     * finite bfloat16 (±3.3895e38) saturate to it, ±Inf stays ±Inf, NaN stays NaN.
     */
    public static int floatToBf16(float v) {
        int x = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (x >>> 16) | 0x40;
        }
        int lsb = (x >>> 16) & 1;
        int bf = ((x + 0x7FFF + lsb) >>> 16) & 0xFFFF;
        if ((bf & 0x7FFF) == 0x7F80 && !Float.isInfinite(v)) {
            return (bf & 0x8000) | 0x7F7F;
        }
        return bf;
    }

    public static float bf16ToFloat(int bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * E8M0 code of the power of two nearest to {@code |v|} in log2 (ties up), clamped to 0..254;
     * 255 is NaN in the OCP MX spec and never produced. Zero and subnormal inputs map to code 0 (2^-127).
     */
    public static int floatToE8m0(float v) {
        float a = Math.abs(v);
        if (!(a >= Float.MIN_NORMAL)) {
            return 0;
        }
        int exp = Math.getExponent(a);
        // round in log scale: above sqrt(2)·2^exp goes up
        float mant = a / Math.scalb(1f, exp);
        if (mant >= 1.4142135f) {
            exp++;
        }
        return Math.max(0, Math.min(254, exp + 127));
    }

    public static float e8m0ToFloat(int code) {
        if (code == 255) {
            return Float.NaN;
        }
        return (float) Math.scalb(1.0, code - 127);
    }
}
