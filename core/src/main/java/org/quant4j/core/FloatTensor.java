package org.quant4j.core;

import java.util.Arrays;

/**
 * A tensor kept in fp32 inside a {@link QuantizedModel} (biases, normalization weights): its shape and
 * its row-major values. Stored bit-exactly: reading a model file gives back the same float bits.
 *
 * @param shape dimensions, each {@code >= 0} (a copy is kept)
 * @param data  the {@code product(shape)} values, row-major (shared, do not modify)
 */
public record FloatTensor(long[] shape, float[] data) {
    public FloatTensor {
        shape = shape.clone();
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new InvalidTensorException("float tensor shape " + Arrays.toString(shape) + " has a negative dimension");
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new InvalidTensorException("float tensor shape " + Arrays.toString(shape) + " is too large");
            }
        }
        if (n != data.length) {
            throw new InvalidTensorException("float tensor shape " + Arrays.toString(shape) + " has " + n
                    + " elements but the data has " + data.length);
        }
    }

    /** The dimensions (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public long size() {
        return data.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatTensor f && Arrays.equals(f.shape, shape) && Arrays.equals(f.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "FloatTensor" + Arrays.toString(shape);
    }
}
