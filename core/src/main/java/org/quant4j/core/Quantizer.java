package org.quant4j.core;

import java.util.Arrays;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.formats.Fp4Codec;
import org.quant4j.core.formats.Fp8Codec;
import org.quant4j.core.formats.IntCodec;
import org.quant4j.core.formats.Nf4Codec;
import org.quant4j.core.formats.TernaryCodec;

/**
 * Round-to-nearest quantization of a whole tensor with a {@link QuantSpec}: the entry point of
 * {@code core}. Checks the input (finite values, a group size that divides the row width) and
 * dispatches to the {@link FormatCodec} of the spec's format.
 */
public final class Quantizer {
    private static final FormatCodec INT = new IntCodec();
    private static final FormatCodec TERNARY = new TernaryCodec();
    private static final FormatCodec NF4 = new Nf4Codec();
    private static final FormatCodec FP8 = new Fp8Codec();
    private static final FormatCodec FP4 = new Fp4Codec();

    private Quantizer() {}

    /** The quantize/dequantize pair of a format. */
    public static FormatCodec codec(Format format) {
        return switch (format) {
            case INT -> INT;
            case TERNARY -> TERNARY;
            case NF4 -> NF4;
            case FP8_E4M3, FP8_E5M2 -> FP8;
            case FP4_E2M1 -> FP4;
        };
    }

    /** Quantizes an ND4J array (any float type, any rank; viewed as {@code shape[0] × rest}). */
    public static QuantizedTensor quantize(String name, INDArray tensor, QuantSpec spec) {
        float[] data = tensor.dup('c').castTo(DataType.FLOAT).data().asFloat();
        return quantize(name, data, tensor.shape(), spec);
    }

    /**
     * Quantizes a row-major float array of the given shape.
     *
     * @param name names the tensor in error messages
     * @throws InvalidTensorException for NaN/Inf values, an empty tensor, a shape that does not match
     *                                the data, a group size that does not divide the row width, or
     *                                values the spec's scale encoding cannot reach (see also
     *                                {@link #refuseAllZero} for values too small for it)
     */
    public static QuantizedTensor quantize(String name, float[] data, long[] shape, QuantSpec spec) {
        validate(name, data, shape, spec);
        try {
            return codec(spec.format()).quantize(data, shape, spec);
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("tensor '" + name + "' (" + spec + "), " + e.getMessage(), e);
        }
    }

    /**
     * Refuses a quantization that lost a nonzero tensor entirely: every value of {@code q} is 0 although
     * {@code data} (what was quantized) is not, because its values are too small for the spec's scales (e.g.
     * |w| ~ 1e-8 with FP16 scales). The message names the tensor and the scale encoding that keeps them (FP32, when
     * it does). Costs one pass over {@code data}; dequantizes only when the scales say every value may be 0.
     *
     * @throws InvalidTensorException naming the tensor and what to do
     */
    public static void refuseAllZero(String name, float[] data, QuantizedTensor q) {
        float amax = absMax(data);
        if (amax > 0 && allZero(q, amax)) {
            QuantSpec spec = q.spec();
            throw new InvalidTensorException("tensor '" + name + "' (" + spec + "): every value quantizes to 0 (the"
                    + " largest |w| is " + String.format(Locale.ROOT, "%.3g", amax) + "); "
                    + keepingAdvice(data, q.shape(), spec));
        }
    }

    /**
     * Whether a tensor of largest magnitude {@code amax > 0} dequantizes to zeros only. An element maps to 0 only
     * when it is within half a step of 0 in every format ({@code |x / (scale · global)| <= 1/2}), so unless a scale is
     * 0 or {@code amax} is at most half the largest step, some element is not 0 and nothing is dequantized.
     */
    private static boolean allZero(QuantizedTensor q, float amax) {
        double largestStep = 0;
        double smallestStep = Double.POSITIVE_INFINITY;
        for (float s : q.scales().values()) {
            double step = Math.abs((double) s * q.globalScale());
            largestStep = Math.max(largestStep, step);
            smallestStep = Math.min(smallestStep, step);
        }
        if (amax > 0.5 * largestStep && smallestStep > 0) {
            return false;
        }
        for (float v : q.dequantizeToArray()) {
            if (v != 0) {
                return false;
            }
        }
        return true;
    }

    /** Which scale encoding keeps a tensor that quantizes to zeros: FP32, when it does. */
    private static String keepingAdvice(float[] data, long[] shape, QuantSpec spec) {
        if (spec.scaleEncoding() != NumberEncoding.FP32) {
            QuantSpec fp32 = spec.toBuilder().scaleEncoding(NumberEncoding.FP32).build();
            QuantizedTensor q = codec(fp32.format()).quantize(data, shape, fp32);
            if (!allZero(q, absMax(data))) {
                return spec.scaleEncoding() + " scales cannot be that small: store the scales as FP32 (--scale-encoding fp32), "
                        + "which keeps them";
            }
        }
        return "no " + spec.format() + " scale is that small, whatever its encoding: scale the tensor up first";
    }

    private static float absMax(float[] data) {
        float m = 0;
        for (float v : data) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** The checks {@link #quantize} makes, for callers that quantize block by block themselves. */
    public static void validate(String name, float[] data, long[] shape, QuantSpec spec) {
        long cols = validate(name, data, shape);
        Granularity g = spec.granularity();
        if (g.kind() == Granularity.Kind.GROUP && cols % g.groupSize() != 0) {
            throw new InvalidTensorException("tensor '" + name + "': group size " + g.groupSize()
                    + " does not divide the row width " + cols + " (shape " + Arrays.toString(shape)
                    + "); choose a group size that divides " + cols);
        }
    }

    /**
     * The spec-independent checks of {@link #validate(String, float[], long[], QuantSpec)}: a non-empty tensor whose
     * shape matches its data, every value finite. Returns the row width.
     */
    public static long validate(String name, float[] data, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new InvalidTensorException("tensor '" + name + "' has a negative dimension: " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != data.length) {
            throw new InvalidTensorException("tensor '" + name + "': shape " + Arrays.toString(shape) + " has " + n
                    + " elements but the data has " + data.length);
        }
        if (n == 0) {
            throw new InvalidTensorException("tensor '" + name + "' is empty (shape " + Arrays.toString(shape) + ")");
        }
        long cols = shape.length <= 1 ? n : n / shape[0];
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) {
                long r = i / cols;
                throw new InvalidTensorException("tensor '" + name + "' holds " + data[i] + " at row " + r
                        + ", column " + (i - r * cols) + " (flat index " + i + "): only finite values can be quantized");
            }
        }
        return cols;
    }
}
