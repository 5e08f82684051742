package org.quant4j.model.bert;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Direct access to the float storage of a C-contiguous ND4J array, for fused loops over its rows. */
final class RawRows {
    private RawRows() {
    }

    /** A buffer whose index 0 is element 0 of {@code a}; {@code a} must be float32, C order, contiguous. */
    static FloatBuffer buffer(INDArray a) {
        if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || a.elementWiseStride() != 1) {
            throw new IllegalArgumentException("expected a contiguous float32 C-order array, got " + a.dataType() + " "
                    + a.ordering() + " stride " + a.elementWiseStride());
        }
        FloatBuffer all = a.data().asNioFloat();
        all.position((int) a.offset());
        return all.slice();
    }
}
