package org.quant4j.qat;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * Bulk copies between a dense float32 ND4J array and a {@code float[]} (one {@code memcpy} each way), so that
 * fused quantization loops run on a Java array the JIT vectorises instead of many whole-array ND4J ops.
 */
final class RawFloats {
    private RawFloats() {}

    /**
     * Whether {@code a} is float32 and its elements fill {@code [offset, offset + length)} of its buffer in
     * {@code order} ({@code 'c'} or {@code 'f'}).
     */
    static boolean dense(INDArray a, char order) {
        return a.dataType() == DataType.FLOAT && !a.isEmpty() && (a.ordering() == order || a.rank() < 2)
                && Shape.hasDefaultStridesForShape(a) && a.elementWiseStride() == 1;
    }

    /**
     * Whether {@code a} is float32 and its elements fill {@code [offset, offset + length)} of its buffer in some
     * order of its axes: 'c' and 'f' arrays, and permuted ones such as the NCHW activations DL4J's convolution
     * layer returns as a permutation of its im2col product. Element-wise work may then run in memory order.
     */
    static boolean elementwise(INDArray a) {
        if (a.dataType() != DataType.FLOAT || a.isEmpty() || a.length() > Integer.MAX_VALUE - 8) {
            return false;
        }
        long[] shape = a.shape();
        long[] stride = a.stride();
        Integer[] axes = new Integer[shape.length];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = i;
        }
        java.util.Arrays.sort(axes, java.util.Comparator.comparingLong(i -> stride[i]));
        long expected = 1;
        for (int axis : axes) {
            if (shape[axis] == 1) {
                continue;
            }
            if (stride[axis] != expected) {
                return false;
            }
            expected *= shape[axis];
        }
        return true;
    }

    /** Whether {@code a} and {@code b} are {@link #elementwise} with the same shape and the same memory layout. */
    static boolean sameLayout(INDArray a, INDArray b) {
        if (!elementwise(a) || !elementwise(b) || !java.util.Arrays.equals(a.shape(), b.shape())) {
            return false;
        }
        long[] shape = a.shape();
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] > 1 && a.stride()[i] != b.stride()[i]) {
                return false;
            }
        }
        return true;
    }

    /** A buffer of at least {@code n} floats: {@code buf} if it is large enough, else a new one. */
    static float[] capacity(float[] buf, long n) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("array of " + n + " elements is too large for a Java array");
        }
        return buf != null && buf.length >= n ? buf : new float[(int) n];
    }

    /** Copies the {@code a.length()} elements of {@code a} ({@link #elementwise}) in memory order into {@code dst[0 ..)}. */
    static void read(INDArray a, float[] dst) {
        buffer(a).get(dst, 0, (int) a.length());
    }

    /**
     * Copies the elements of {@code a} (float32, any layout) in logical 'c' order into {@code dst[0 ..)}. An
     * {@link #elementwise} array in another layout is copied once in memory order into {@code scratch} (returned,
     * grown if needed) and gathered from there; anything else goes through an ND4J 'c' copy.
     */
    static float[] readInCOrder(INDArray a, float[] dst, float[] scratch) {
        if (dense(a, 'c')) {
            read(a, dst);
            return scratch;
        }
        if (!elementwise(a)) {
            read(a.dup('c'), dst);
            return scratch;
        }
        int n = (int) a.length();
        float[] raw = capacity(scratch, n);
        read(a, raw);
        long[] shape = a.shape();
        long[] stride = a.stride();
        int last = shape.length - 1;
        int len = (int) shape[last];
        int step = (int) stride[last];
        long[] index = new long[shape.length];
        int base = 0;
        for (int i = 0; i < n; ) {
            for (int j = 0, m = base; j < len; j++, m += step) {
                dst[i++] = raw[m];
            }
            for (int k = last - 1; k >= 0; k--) { // the next row: an odometer over the leading axes
                if (++index[k] < shape[k]) {
                    base += (int) stride[k];
                    break;
                }
                base -= (int) (stride[k] * (shape[k] - 1));
                index[k] = 0;
            }
        }
        return raw;
    }

    /** Copies {@code src[0 .. a.length())} into the elements of {@code a} ({@link #elementwise}), in memory order. */
    static void write(float[] src, INDArray a) {
        buffer(a).put(src, 0, (int) a.length());
    }

    private static FloatBuffer buffer(INDArray a) {
        FloatBuffer all = a.data().asNioFloat();
        all.position((int) a.offset());
        return all;
    }
}
