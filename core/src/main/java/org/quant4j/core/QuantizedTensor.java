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
 *
 * <p>An INT tensor with groups may carry a <em>group index</em> (AutoGPTQ's {@code g_idx}): column
 * {@code c} then belongs to group {@code groupIndex[c]} instead of {@code c / g}, so its scale index is
 * {@code row·(cols/g) + groupIndex[c]}. GPTQ with act-order forms groups of {@code g} columns in the
 * order of decreasing Hessian diagonal, which are not consecutive in the stored column order.
 */
public final class QuantizedTensor {
    private final QuantSpec spec;
    private final long[] shape;
    private final byte[] codes;
    private final EncodedArray scales;
    private final EncodedArray zeros;
    private final float globalScale;
    private final int[] groupIndex;

    public QuantizedTensor(QuantSpec spec, long[] shape, byte[] codes, EncodedArray scales, EncodedArray zeros,
                           float globalScale) {
        this(spec, shape, codes, scales, zeros, globalScale, null);
    }

    /**
     * @param groupIndex the group of each column ({@code cols} entries, each group used by exactly
     *                   {@code g} columns), or null when groups are consecutive columns; INT groups only
     */
    public QuantizedTensor(QuantSpec spec, long[] shape, byte[] codes, EncodedArray scales, EncodedArray zeros,
                           float globalScale, int[] groupIndex) {
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
        this.groupIndex = groupIndex == null ? null : checkedGroupIndex(groupIndex);
    }

    private int[] checkedGroupIndex(int[] index) {
        Granularity g = spec.granularity();
        if (spec.format() != Format.INT || g.kind() != Granularity.Kind.GROUP) {
            throw new QuantizationException(spec + ": a group index is only defined for INT tensors with groups");
        }
        if (index.length != cols()) {
            throw new QuantizationException("tensor " + Arrays.toString(shape) + ": group index has " + index.length
                    + " entries, expected one per column (" + cols() + ")");
        }
        int groups = (int) (cols() / g.groupSize());
        int[] members = new int[groups];
        for (int c = 0; c < index.length; c++) {
            if (index[c] < 0 || index[c] >= groups) {
                throw new QuantizationException("tensor " + Arrays.toString(shape) + ": column " + c
                        + " is assigned to group " + index[c] + ", outside 0.." + (groups - 1));
            }
            members[index[c]]++;
        }
        for (int k = 0; k < groups; k++) {
            if (members[k] != g.groupSize()) {
                throw new QuantizationException("tensor " + Arrays.toString(shape) + ": group " + k + " has "
                        + members[k] + " columns in the group index, expected " + g.groupSize());
            }
        }
        return index.clone();
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

    /** The group of each column (a copy), or null when groups are consecutive columns. */
    public int[] groupIndex() {
        return groupIndex == null ? null : groupIndex.clone();
    }

    /** Whether {@link #groupIndex()} is non-null, without copying it. */
    public boolean hasGroupIndex() {
        return groupIndex != null;
    }

    /** Scale (and zero point) index of element {@code (row, col)}, honouring the group index. */
    public int blockIndex(int row, int col) {
        Granularity g = spec.granularity();
        return switch (g.kind()) {
            case TENSOR -> 0;
            case CHANNEL -> row;
            case GROUP -> (int) (row * (cols() / g.groupSize()))
                    + (groupIndex == null ? col / g.groupSize() : groupIndex[col]);
        };
    }

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

    /**
     * Bytes stored: codes, scales, zero points, the global scale when there is one, and the group
     * index when there is one (counted as one int32 per column, as AutoGPTQ stores {@code g_idx}).
     */
    public long storageBytes() {
        return codes.length + scales.byteLength() + (zeros == null ? 0 : zeros.byteLength())
                + (hasGlobalScale() ? 4 : 0) + groupIndexBytes();
    }

    private long groupIndexBytes() {
        return groupIndex == null ? 0 : 4L * groupIndex.length;
    }

    /** True bits per weight, all stored bytes included. */
    public double bitsPerWeight() {
        return size() == 0 ? 0 : storageBytes() * 8.0 / size();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedTensor q && q.spec.equals(spec) && Arrays.equals(q.shape, shape)
                && Arrays.equals(q.codes, codes) && q.scales.equals(scales) && Objects.equals(q.zeros, zeros)
                && Float.floatToIntBits(q.globalScale) == Float.floatToIntBits(globalScale)
                && Arrays.equals(q.groupIndex, groupIndex);
    }

    @Override
    public int hashCode() {
        return Objects.hash(spec, Arrays.hashCode(shape), Arrays.hashCode(codes), scales, Arrays.hashCode(groupIndex));
    }

    @Override
    public String toString() {
        return "QuantizedTensor" + Arrays.toString(shape) + " " + spec + String.format(" %.3f bits/weight", bitsPerWeight());
    }
}
