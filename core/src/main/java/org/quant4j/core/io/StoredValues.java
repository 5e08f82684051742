package org.quant4j.core.io;

import org.quant4j.core.ClaqTensor;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.formats.MiniFloat;

/**
 * The stored values of a tensor checked against its spec, so that a file whose checksums were recomputed over wrong
 * values is still refused. The writer checks what it is about to write and the reader what it read. Rules:
 * <ul>
 *   <li>scales finite; positive, except NF4 absmax scales (0 for an all-zero block) and double-quantized (DQ8)
 *       scales (any finite value); not huge: an INT grid spans at most twice the float range (what finite weights
 *       can need), and a float element format's largest value times the scale stays finite;</li>
 *   <li>a global scale, where dequantization applies one (NF4, FP8, FP4), finite and positive (INT and ternary
 *       ignore theirs, which the manifest checks only to be finite);</li>
 *   <li>integer (UINT) zero points inside the grid {@code 0..2^b-1}; FP16/FP32 zero points finite (HQQ's
 *       fractional zero points may lie outside the code range);</li>
 *   <li>codes inside the codebook: no ternary byte above 242, no NaN or Inf FP8 code;</li>
 *   <li>CLAQ codebooks and outlier values finite (outlier positions are checked by {@link ClaqTensor}).</li>
 * </ul>
 * Problems are {@link InvalidTensorException}s whose message starts with the part: {@code "scales: ..."}.
 */
final class StoredValues {
    /** An INT grid's span {@code scale · (2^b - 1)} may exceed twice the float range by the scale's rounding. */
    private static final double INT_SPAN_LIMIT = 2.0 * Float.MAX_VALUE * (1 + 0x1p-6);

    private StoredValues() {}

    static void check(QuantizedTensor t) {
        QuantSpec spec = t.spec();
        float global = t.globalScale();
        checkGlobalScale(spec, global);
        checkScales(spec, t.scales().values(), global);
        if (t.zeros() != null) {
            checkZeros(spec, t.zeros());
        }
        checkCodes(spec.format(), t.codes());
    }

    static void check(ClaqTensor t) {
        requireFinite("codebooks", "centroid", t.codebooks().values());
        requireFinite("outlier values", "outlier", t.outlierValues().values());
    }

    /** Where dequantization applies the global scale (NF4, FP8, FP4); INT and ternary ignore it. */
    private static void checkGlobalScale(QuantSpec spec, float global) {
        if (appliesGlobalScale(spec) && (!(global > 0) || !Float.isFinite(global))) {
            throw problem("global scale", "is " + global + ", expected a finite value > 0");
        }
    }

    private static boolean appliesGlobalScale(QuantSpec spec) {
        return spec.format() != Format.INT && spec.format() != Format.TERNARY;
    }

    private static void checkScales(QuantSpec spec, float[] scales, float global) {
        boolean anySign = spec.scaleEncoding() == NumberEncoding.DQ8;
        boolean zeroAllowed = spec.format() == Format.NF4;
        int maxCode = (1 << spec.bits()) - 1;
        float elementMax = elementMax(spec.format());
        for (int b = 0; b < scales.length; b++) {
            float s = scales[b];
            String which = "scale " + b + " of " + scales.length + " is " + s;
            if (!Float.isFinite(s)) {
                throw problem("scales", which + "; scales must be finite");
            }
            if (!anySign && (s < 0 || s == 0 && !zeroAllowed)) {
                throw problem("scales", which + "; " + spec.shortName() + " scales must be "
                        + (zeroAllowed ? ">= 0" : "> 0"));
            }
            boolean huge = spec.format() == Format.INT ? (double) s * maxCode > INT_SPAN_LIMIT
                    : !Float.isFinite(elementMax * s * (appliesGlobalScale(spec) ? global : 1f));
            if (huge) {
                throw problem("scales", which + ": too large, " + spec.shortName()
                        + " values would leave the float range");
            }
        }
    }

    /** The largest magnitude of a non-INT element format, before scaling. */
    private static float elementMax(Format format) {
        return switch (format) {
            case FP8_E4M3 -> MiniFloat.E4M3.max();
            case FP8_E5M2 -> MiniFloat.E5M2.max();
            case FP4_E2M1 -> MiniFloat.E2M1.max();
            case INT, TERNARY, NF4 -> 1f;
        };
    }

    private static void checkZeros(QuantSpec spec, EncodedArray zeros) {
        float[] z = zeros.values();
        int maxCode = (1 << spec.bits()) - 1;
        boolean integer = zeros.encoding() == NumberEncoding.UINT;
        for (int b = 0; b < z.length; b++) {
            if (integer ? z[b] > maxCode : !Float.isFinite(z[b])) {
                throw problem("zero points", "zero point " + b + " of " + z.length + " is " + z[b] + ", "
                        + (integer ? "outside the " + spec.bits() + "-bit grid 0.." + maxCode : "not finite"));
            }
        }
    }

    private static void checkCodes(Format format, byte[] codes) {
        MiniFloat element = format == Format.FP8_E4M3 ? MiniFloat.E4M3 : format == Format.FP8_E5M2 ? MiniFloat.E5M2 : null;
        if (format != Format.TERNARY && element == null) {
            return; // every INT, NF4 and FP4 code is a grid point
        }
        for (int i = 0; i < codes.length; i++) {
            int c = codes[i] & 0xFF;
            if (element == null ? c > 242 : !Float.isFinite(element.decode(c))) {
                throw problem("codes", "byte " + i + " is " + c + (element == null
                        ? ", but five ternary codes make at most 242" : ", a NaN or Inf code of " + element
                        + " (quantizers never produce one)"));
            }
        }
    }

    private static void requireFinite(String part, String what, float[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw problem(part, what + " " + i + " of " + values.length + " is " + values[i] + ", not finite");
            }
        }
    }

    private static InvalidTensorException problem(String part, String message) {
        return new InvalidTensorException(part + ": " + message);
    }
}
