package org.quant4j.core.io.gguf;

import org.quant4j.core.BitPacker;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * Converts a {@link QuantizedTensor} to a ggml block type without re-rounding anything, where the two
 * grids coincide, so that ggml's dequantization gives bit for bit the floats of
 * {@link QuantizedTensor#dequantizeToArray()}:
 * <ul>
 *   <li>INT8 symmetric, groups of 32 → Q8_0: our code {@code c} with value {@code (c - 128)·s} is the
 *       int8 {@code q = c - 128} with {@code x = q·d}, {@code d = s};</li>
 *   <li>INT4 symmetric, groups of 32 → Q4_0: our codes {@code 0..15} with value {@code (c - 8)·s} are
 *       ggml's nibbles with {@code x = (q - 8)·d} (only the nibble order changes: element {@code j} low
 *       and {@code j+16} high in byte {@code j});</li>
 *   <li>INT4 asymmetric, groups of 32 → Q4_1: value {@code (c - z)·s} as {@code x = q·d + m} with
 *       {@code d = s}, {@code m = -(z·s)}, accepted only if every block's {@code m} is an fp16 value and
 *       {@code q·d + m} equals {@code (q - z)·s} in float for all 16 codes ({@code q·d} is exact, so a fused
 *       multiply-add in ggml's dequantization gives the same);</li>
 *   <li>INT5 symmetric / asymmetric, groups of 32 → Q5_0 ({@code (c - 16)·s}) / Q5_1 (as Q4_1, 32 codes):
 *       the low four bits of each code as Q4's nibbles, bit 4 in the block's {@code qh} word.</li>
 * </ul>
 * Every block's scale must itself be an fp16 value (always so with FP16 scale encoding). Groups must be
 * consecutive (no GPTQ group index), there must be no second-level scale, and the innermost dimension
 * (ggml's {@code ne[0]}) must be a multiple of 32, since ggml blocks lie within {@code ne[0]}.
 * When any condition fails, {@link #convert} returns the reason instead.
 */
final class ExactGgmlConversion {
    private ExactGgmlConversion() {}

    /** The ggml type and bytes, or (type and data null) the reason there is no exact conversion. */
    record Result(GgmlType type, byte[] data, String reason) {}

    private static Result no(String reason) {
        return new Result(null, null, reason);
    }

    static Result convert(QuantizedTensor t) {
        QuantSpec spec = t.spec();
        if (spec.format() != Format.INT) {
            return no(spec.format() + " codes have no ggml block type with the same values");
        }
        Granularity g = spec.granularity();
        if (g.kind() != Granularity.Kind.GROUP || g.groupSize() != 32) {
            return no("ggml's Q8_0/Q5_x/Q4_x blocks are groups of 32, the tensor has " + g + " scales");
        }
        GgmlType type;
        if (spec.bits() == 8 && spec.symmetric()) {
            type = GgmlType.Q8_0;
        } else if (spec.bits() == 4) {
            type = spec.symmetric() ? GgmlType.Q4_0 : GgmlType.Q4_1;
        } else if (spec.bits() == 5) {
            type = spec.symmetric() ? GgmlType.Q5_0 : GgmlType.Q5_1;
        } else {
            return no("int" + spec.bits() + (spec.symmetric() ? " symmetric" : " asymmetric") + " has no exact ggml"
                    + " type (Q8_0 is int8 symmetric, Q5_0/Q4_0 int5/int4 symmetric, Q5_1/Q4_1 int5/int4 asymmetric)");
        }
        if (t.hasGroupIndex()) {
            return no("it has a group index (act-order groups are not consecutive columns)");
        }
        if (t.hasGlobalScale()) {
            return no("it has a second-level scale " + t.globalScale());
        }
        long[] shape = t.shape();
        long innermost = shape.length == 0 ? 1 : shape[shape.length - 1];
        if (innermost % 32 != 0) {
            return no("its innermost dimension " + innermost + " (ggml's ne[0]) is not a multiple of 32");
        }
        float[] s = t.scales().values();
        for (int b = 0; b < s.length; b++) {
            if (!isFp16(s[b])) {
                return no("the scale " + s[b] + " of block " + b + " is not an fp16 value");
            }
        }
        int n = Math.toIntExact(t.size());
        byte[] codes = new byte[n];
        BitPacker.unpack(t.codes(), n, spec.bits(), codes);
        byte[] out = new byte[Math.toIntExact(type.byteSize(n))];
        int per = type.bytesPerBlock();
        for (int b = 0; b < s.length; b++) {
            int o = b * per;
            int c = b * 32;
            GgmlQuants.putF16(out, o, s[b]);
            if (type == GgmlType.Q8_0) {
                for (int j = 0; j < 32; j++) out[o + 2 + j] = (byte) ((codes[c + j] & 0xFF) - 128);
                continue;
            }
            int quants = o + 2;
            if (type == GgmlType.Q4_1 || type == GgmlType.Q5_1) {
                float z = t.zeros().values()[b];
                float m = -(z * s[b]);
                if (!isFp16(m)) {
                    return no("block " + b + " has m = -zero·scale = " + m + " (zero " + z + ", scale " + s[b]
                            + "), not an fp16 value");
                }
                for (int q = 0; q < 1 << spec.bits(); q++) {
                    if (Float.floatToIntBits(q * s[b] + m) != Float.floatToIntBits((q - z) * s[b])) {
                        return no("in block " + b + ", code " + q + " gives " + (q * s[b] + m) + " as q·d + m but "
                                + (q - z) * s[b] + " as (q - zero)·scale");
                    }
                }
                GgmlQuants.putF16(out, o + 2, m);
                quants = o + 4;
            }
            if (spec.bits() == 5) {
                int qh = 0;
                for (int j = 0; j < 32; j++) qh |= (codes[c + j] >>> 4 & 1) << j;
                GgmlQuants.putI32(out, quants, qh);
                quants += 4;
            }
            packNibbles(codes, c, out, quants);
        }
        return new Result(type, out, null);
    }

    private static void packNibbles(byte[] codes, int c, byte[] out, int o) {
        for (int j = 0; j < 16; j++) {
            out[o + j] = (byte) ((codes[c + j] & 0x0F) | (codes[c + 16 + j] & 0x0F) << 4);
        }
    }

    private static boolean isFp16(float v) {
        return Float.floatToIntBits(NumberEncodings.round(NumberEncoding.FP16, v)) == Float.floatToIntBits(v);
    }
}
