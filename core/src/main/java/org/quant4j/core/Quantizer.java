package org.quant4j.core;

import java.util.Arrays;
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
     *                                values the spec's scale encoding cannot reach
     */
    public static QuantizedTensor quantize(String name, float[] data, long[] shape, QuantSpec spec) {
        validate(name, data, shape, spec);
        try {
            return codec(spec.format()).quantize(data, shape, spec);
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("tensor '" + name + "' (" + spec + "), " + e.getMessage(), e);
        }
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
