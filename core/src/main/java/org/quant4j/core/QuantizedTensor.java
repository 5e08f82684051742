package org.quant4j.core;

import java.util.Arrays;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A quantized tensor as it is stored: bit-packed codes, per-block scales (and zero points), and the
 * {@link QuantSpec} that says how to read them. {@link #dequantize()} is exact and deterministic:
 * the same object always gives the same floats, and a tensor read back from a file gives the same
 * floats as the one written.
 *
 * <p>Element {@code i} of block {@code b} dequantizes to {@code (decode(code_i) - zero_b) * scale_b * globalScale},
 * with {@code zero_b = 0} when symmetric and {@code globalScale = 1} except for two-level scales (NVFP4).
 * Blocks follow {@link Granularity}: the tensor is a row-major {@code rows × cols} matrix with
 * {@code rows = shape[0]} and {@code cols} the product of the other dimensions (a 1-D tensor is one row).
 */
public final class QuantizedTensor {
    private final QuantSpec spec;
    private final long[] shape;
    private final byte[] codes;
    private final EncodedArray scales;
    private final EncodedArray zeros;
    private final float globalScale;

    public QuantizedTensor(QuantSpec spec, long[] shape, byte[] codes, EncodedArray scales, EncodedArray zeros,
                           float globalScale) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.shape = shape.clone();
        this.codes = Objects.requireNonNull(codes, "codes");
        this.scales = Objects.requireNonNull(scales, "scales");
        this.zeros = zeros;
        this.globalScale = globalScale;
        long blocks = spec.granularity().blockCount(rows(), cols());
        if (scales.count() != blocks) {
            throw new QuantizationException("tensor " + Arrays.toString(shape) + " with " + spec + " needs "
                    + blocks + " scales, got " + scales.count());
        }
        if (spec.symmetric() != (zeros == null)) {
            throw new QuantizationException(spec + ": zero points must be present exactly when asymmetric");
        }
        if (zeros != null && zeros.count() != blocks) {
            throw new QuantizationException("tensor " + Arrays.toString(shape) + " with " + spec + " needs "
                    + blocks + " zero points, got " + zeros.count());
        }
        long expectedCodeBytes = BitPacker.packedLength(spec.format(), spec.bits(), size());
        if (codes.length != expectedCodeBytes) {
            throw new QuantizationException("tensor " + Arrays.toString(shape) + " with " + spec + " needs "
                    + expectedCodeBytes + " code bytes, got " + codes.length);
        }
    }

    public QuantSpec spec() { return spec; }

    public long[] shape() { return shape.clone(); }

    /** Number of elements. */
    public long size() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Rows of the matrix view ({@code shape[0]}, or 1 for a 1-D tensor). */
    public long rows() {
        return shape.length <= 1 ? 1 : shape[0];
    }

    /** Columns of the matrix view (product of the other dimensions). */
    public long cols() {
        return rows() == 0 ? 0 : size() / rows();
    }

    /** The packed codes (shared, do not modify). */
    public byte[] codes() { return codes; }

    public EncodedArray scales() { return scales; }

    /** Zero points, or null when symmetric. */
    public EncodedArray zeros() { return zeros; }

    /** The second-level FP32 scale (NVFP4); 1 otherwise. */
    public float globalScale() { return globalScale; }

    /** Dequantizes into a new row-major float array. */
    public float[] dequantizeToArray() {
        float[] out = new float[Math.toIntExact(size())];
        dequantizeInto(out);
        return out;
    }

    /** Dequantizes into {@code out} (length {@link #size()}). */
    public void dequantizeInto(float[] out) {
        Quantizer.codec(spec.format()).dequantize(this, out);
    }

    /** Dequantizes into a new FLOAT INDArray of the original shape. */
    public INDArray dequantize() {
        return Nd4j.create(dequantizeToArray(), shape, DataType.FLOAT);
    }

    /**
     * True when a per-tensor FP32 scale is stored: always for two-level scales (FP4 elements under E4M3
     * block scales, NVFP4), even when it happens to be 1; otherwise when it differs from 1.
     */
    public boolean hasGlobalScale() {
        return (spec.format() == Format.FP4_E2M1 && spec.scaleEncoding() == NumberEncoding.E4M3)
                || globalScale != 1f;
    }

    /** Bytes stored: codes, scales, zero points, and the global scale when there is one. */
    public long storageBytes() {
        return codes.length + scales.byteLength() + (zeros == null ? 0 : zeros.byteLength())
                + (hasGlobalScale() ? 4 : 0);
    }

    /** True bits per weight, all stored bytes included. */
    public double bitsPerWeight() {
        return size() == 0 ? 0 : storageBytes() * 8.0 / size();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedTensor q && q.spec.equals(spec) && Arrays.equals(q.shape, shape)
                && Arrays.equals(q.codes, codes) && q.scales.equals(scales) && Objects.equals(q.zeros, zeros)
                && Float.floatToIntBits(q.globalScale) == Float.floatToIntBits(globalScale);
    }

    @Override
    public int hashCode() {
        return Objects.hash(spec, Arrays.hashCode(shape), Arrays.hashCode(codes), scales);
    }

    @Override
    public String toString() {
        return "QuantizedTensor" + Arrays.toString(shape) + " " + spec + String.format(" %.3f bits/weight", bitsPerWeight());
    }
}
