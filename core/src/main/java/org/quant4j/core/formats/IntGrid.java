package org.quant4j.core.formats;

import java.util.Objects;
import org.quant4j.core.Format;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;

/**
 * The uniform integer grid of {@code b} bits (2..8): fitting a block's scale and zero point,
 * element codes and values, and fused quantize-dequantize (fake quantization). This is the scalar
 * API that solvers (GPTQ, HQQ) and fake quantizers call; {@link IntCodec} uses it for whole tensors.
 *
 * <p>Codes are unsigned, {@code 0 .. 2^b-1}, and every grid is written with a zero point in code space:
 * {@code code = clamp(rint(x/scale) + zero, 0, 2^b-1)} and {@code value = (code - zero) · scale}
 * (GPTQ's {@code Quantizer}, PyTorch's {@code fake_quantize_per_channel_affine}; {@link Math#rint}
 * rounds half to even like {@code torch.round}).
 * <ul>
 *   <li>Symmetric (PyTorch qint / GPTQ {@code sym=True}): {@code scale = amax / ((2^b-1)/2)}, levels
 *       {@code q = code - 2^(b-1)} in {@code [-2^(b-1), 2^(b-1)-1]}; the zero point is the constant
 *       {@code 2^(b-1)} and is not stored.</li>
 *   <li>Asymmetric: the range is widened to contain 0 ({@code min' = min(min, 0)},
 *       {@code max' = max(max, 0)}), {@code scale = (max' - min') / (2^b-1)} and
 *       {@code zero = clamp(rint(-min'/scale), 0, 2^b-1)} stored as a b-bit integer, or, with an
 *       FP16/FP32 zero encoding, the unrounded {@code -min'/scale} rounded to that encoding
 *       (a fractional zero point as in HQQ, Badri &amp; Shaji 2023); then
 *       {@code code = clamp(rint(x/scale + zero), 0, 2^b-1)}.</li>
 * </ul>
 * The scale is rounded <em>up</em> to its encoding ({@link NumberEncodings#roundUp}), so the grid
 * still covers the block and every element of it is within {@code scale/2} of its value (up to float
 * rounding). A block of zeros gets scale 1. Values are saturated to the finite float range (a 2-bit
 * grid over {@code ±2.55e38} has a point at {@code -2^128}).
 */
public final class IntGrid implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    /** {@code 1.5·2^23}: a float sum with it has no fraction bits (see {@link #roundHalfEven}). */
    private static final float ROUNDER = 0x1.8p23f;

    private final int bits;
    private final boolean symmetric;
    private final NumberEncoding scaleEncoding;
    private final NumberEncoding zeroEncoding;
    private final int maxCode;
    private final boolean integerZero;

    /**
     * @param zeroEncoding UINT, FP16 or FP32 for an asymmetric grid; ignored (may be null) when symmetric
     */
    public IntGrid(int bits, boolean symmetric, NumberEncoding scaleEncoding, NumberEncoding zeroEncoding) {
        if (bits < 2 || bits > 8) {
            throw new InvalidSpecException("integer grid bits must be 2..8, got " + bits);
        }
        this.bits = bits;
        this.symmetric = symmetric;
        this.scaleEncoding = Objects.requireNonNull(scaleEncoding, "scaleEncoding");
        this.zeroEncoding = symmetric ? null : Objects.requireNonNull(zeroEncoding, "zeroEncoding");
        if (!symmetric && zeroEncoding != NumberEncoding.UINT && zeroEncoding != NumberEncoding.FP16
                && zeroEncoding != NumberEncoding.FP32) {
            throw new InvalidSpecException("zero points are stored as UINT, FP16 or FP32, not " + zeroEncoding);
        }
        if (scaleEncoding == NumberEncoding.UINT || scaleEncoding == NumberEncoding.DQ8) {
            throw new InvalidSpecException("integer grid scales cannot be stored as " + scaleEncoding);
        }
        this.maxCode = (1 << bits) - 1;
        this.integerZero = symmetric || zeroEncoding == NumberEncoding.UINT;
    }

    /** The grid of an INT spec. */
    public static IntGrid of(QuantSpec spec) {
        if (spec.format() != Format.INT) {
            throw new InvalidSpecException("an integer grid needs an INT spec, got " + spec);
        }
        return new IntGrid(spec.bits(), spec.symmetric(), spec.scaleEncoding(), spec.zeroEncoding());
    }

    /**
     * A block's scale (as stored) and zero point in code space ({@code 2^(b-1)} when symmetric; an
     * integer unless the zero encoding is FP16/FP32).
     */
    public record Params(float scale, float zero) {}

    public int bits() { return bits; }

    public boolean symmetric() { return symmetric; }

    /** Largest code, {@code 2^b - 1}. */
    public int maxCode() { return maxCode; }

    /** How zero points are stored, or null when symmetric (the zero point is then {@code 2^(b-1)}, not stored). */
    public NumberEncoding zeroEncoding() { return zeroEncoding; }

    public NumberEncoding scaleEncoding() { return scaleEncoding; }

    /**
     * Parameters of a block whose values lie in {@code [min, max]} (the statistic GPTQ and min-max
     * observers track).
     *
     * @throws InvalidTensorException if the bounds are not finite, or the scale they need is beyond
     *                                the largest finite value of the scale encoding
     */
    public Params fitRange(float min, float max) {
        if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
            throw new InvalidTensorException("cannot fit an integer grid to the range [" + min + ", " + max
                    + "]: the bounds must be finite with min <= max");
        }
        if (symmetric) {
            double amax = Math.max(-(double) min, max);
            return new Params(storedScale(2.0 * amax / maxCode, min, max), 1 << (bits - 1));
        }
        double lo = Math.min(min, 0.0);
        double hi = Math.max(max, 0.0);
        float scale = storedScale((hi - lo) / maxCode, min, max);
        double exactZero = -lo / scale;
        float zero = zeroEncoding == NumberEncoding.UINT
                ? (float) Math.rint(exactZero)
                : NumberEncodings.round(zeroEncoding, (float) exactZero);
        return new Params(scale, Math.min(Math.max(zero, 0f), maxCode));
    }

    /** Parameters of the block {@code data[offset .. offset+length)}. */
    public Params fit(float[] data, int offset, int length) {
        float min = 0f; // both grids contain 0, so starting the range there changes nothing
        float max = 0f;
        for (int i = offset, end = offset + length; i < end; i++) {
            min = Math.min(min, data[i]);
            max = Math.max(max, data[i]);
        }
        return fitRange(min, max);
    }

    /** Parameters of the block {@code data[offset + k·stride]}, {@code k < length} (e.g. a column of a row-major matrix). */
    public Params fit(float[] data, int offset, int length, int stride) {
        float min = 0f;
        float max = 0f;
        for (int k = 0, i = offset; k < length; k++, i += stride) {
            float v = data[i];
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        return fitRange(min, max);
    }

    /** The code of {@code x}. */
    public int code(float x, Params p) {
        return code(x, p.scale, p.zero);
    }

    /** The code of {@code x} on the grid of {@code scale} and code-space {@code zero}. */
    public int code(float x, float scale, float zero) {
        float v = x / scale;
        if (integerZero) {
            return roundHalfEven(Math.min(Math.max(v, -zero), maxCode - zero)) + (int) zero;
        }
        return roundHalfEven(Math.min(Math.max(v + zero, 0f), maxCode));
    }

    /** The value of a code: {@code (code - zero) · scale}, saturated to the finite float range. */
    public float value(int code, float scale, float zero) {
        return Math.min(Math.max((code - zero) * scale, -Float.MAX_VALUE), Float.MAX_VALUE);
    }

    /** {@code value(code(x))}: the grid point nearest to {@code x} (fake quantization of one element). */
    public float fakeQuantize(float x, float scale, float zero) {
        return value(code(x, scale, zero), scale, zero);
    }

    /** Codes of {@code data[offset .. offset+length)} into {@code codes[codeOffset ..)} (unpacked, one per byte). */
    public void codes(float[] data, int offset, int length, float scale, float zero, byte[] codes, int codeOffset) {
        if (integerZero) {
            int z = (int) zero;
            float lo = -z;
            float hi = maxCode - z;
            for (int i = 0; i < length; i++) {
                float v = Math.min(Math.max(data[offset + i] / scale, lo), hi);
                codes[codeOffset + i] = (byte) (roundHalfEven(v) + z);
            }
        } else {
            for (int i = 0; i < length; i++) {
                float v = Math.min(Math.max(data[offset + i] / scale + zero, 0f), maxCode);
                codes[codeOffset + i] = (byte) roundHalfEven(v);
            }
        }
    }

    /**
     * In place: replaces {@code buf[from .. to)} by the codes of its values (as floats, equal to
     * {@link #code}). Reading and writing the same index lets the JIT vectorize the loop.
     */
    void codesInPlace(float[] buf, int from, int to, float scale, float zero) {
        if (integerZero) {
            float lo = -zero;
            float hi = maxCode - zero;
            for (int i = from; i < to; i++) {
                float v = Math.min(Math.max(buf[i] / scale, lo), hi);
                buf[i] = ((v + ROUNDER) - ROUNDER) + zero;
            }
        } else {
            for (int i = from; i < to; i++) {
                float v = Math.min(Math.max(buf[i] / scale + zero, 0f), maxCode);
                buf[i] = (v + ROUNDER) - ROUNDER;
            }
        }
    }

    /** Values of {@code length} unpacked codes into {@code out[outOffset ..)}; equal to {@link #value} element by element. */
    public void values(byte[] codes, int codeOffset, int length, float scale, float zero, float[] out, int outOffset) {
        if (mayOverflow(scale, zero)) {
            for (int i = 0; i < length; i++) {
                out[outOffset + i] = value(codes[codeOffset + i] & 0xFF, scale, zero);
            }
            return;
        }
        for (int i = 0; i < length; i++) {
            out[outOffset + i] = ((codes[codeOffset + i] & 0xFF) - zero) * scale;
        }
    }

    /** Fits the block {@code data[offset .. offset+length)} and writes its quantize-dequantized values to {@code out}. */
    public Params fakeQuantize(float[] data, int offset, int length, float[] out, int outOffset) {
        Params p = fit(data, offset, length);
        fakeQuantize(data, offset, length, p, out, outOffset);
        return p;
    }

    /** Writes {@code fakeQuantize(data[offset+i], p)} to {@code out[outOffset+i]} for {@code i < length}. */
    public void fakeQuantize(float[] data, int offset, int length, Params p, float[] out, int outOffset) {
        float scale = p.scale;
        float zero = p.zero;
        if (!integerZero || mayOverflow(scale, zero)) {
            for (int i = 0; i < length; i++) {
                out[outOffset + i] = fakeQuantize(data[offset + i], scale, zero);
            }
            return;
        }
        float lo = -zero;
        float hi = maxCode - zero;
        for (int i = 0; i < length; i++) {
            float v = Math.min(Math.max(data[offset + i] / scale, lo), hi);
            out[outOffset + i] = roundHalfEven(v) * scale; // (q + z - z)·scale, exactly value(code(x))
        }
    }

    private boolean mayOverflow(float scale, float zero) {
        return Math.max(zero, maxCode - zero) * (double) scale > Float.MAX_VALUE;
    }

    /**
     * {@link Math#rint} (round half to even) for {@code |v| <= 2^22} in float arithmetic: the sum with
     * {@code 1.5·2^23} has no fraction bits, so the addition itself rounds. Callers clamp first.
     */
    private static int roundHalfEven(float v) {
        return (int) ((v + ROUNDER) - ROUNDER);
    }

    /**
     * The exact scale rounded up to a float, then up to the scale encoding; 1 for an all-zero block.
     */
    private float storedScale(double exact, float min, float max) {
        if (exact == 0) {
            return 1f;
        }
        float f = (float) exact;
        if (f < exact) {
            f = Math.nextUp(f);
        }
        float stored = NumberEncodings.roundUp(scaleEncoding, f);
        if (stored == Float.POSITIVE_INFINITY) {
            throw new InvalidTensorException("values in [" + min + ", " + max + "] need a " + bits
                    + "-bit scale of " + f + ", beyond the largest finite " + scaleEncoding
                    + " value; store the scales as FP32 or BF16");
        }
        return stored;
    }
}
