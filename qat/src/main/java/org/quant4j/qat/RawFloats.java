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
     * {@code order} ({@code 'c'} or {@code 'f'}; {@code 0}: either, for element-wise work).
     */
    static boolean dense(INDArray a, char order) {
        return a.dataType() == DataType.FLOAT && !a.isEmpty() && (order == 0 || a.ordering() == order || a.rank() < 2)
                && Shape.hasDefaultStridesForShape(a) && a.elementWiseStride() == 1;
    }

    /** A buffer of at least {@code n} floats: {@code buf} if it is large enough, else a new one. */
    static float[] capacity(float[] buf, long n) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("array of " + n + " elements is too large for a Java array");
        }
        return buf != null && buf.length >= n ? buf : new float[(int) n];
    }

    /** Copies the {@code a.length()} elements of {@code a} ({@link #dense}) into {@code dst[0 ..)}. */
    static void read(INDArray a, float[] dst) {
        buffer(a).get(dst, 0, (int) a.length());
    }

    /** Copies {@code src[0 .. a.length())} into the elements of {@code a} ({@link #dense}). */
    static void write(float[] src, INDArray a) {
        buffer(a).put(src, 0, (int) a.length());
    }

    private static FloatBuffer buffer(INDArray a) {
        FloatBuffer all = a.data().asNioFloat();
        all.position((int) a.offset());
        return all;
    }
}
