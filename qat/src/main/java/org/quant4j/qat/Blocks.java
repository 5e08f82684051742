package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.Granularity;

/** The {@code [blocks, blockLength]} matrix of an {@code [out, in]} weight whose rows share one scale (core's block order). */
final class Blocks {
    private Blocks() {}

    /** A view of {@code outIn} (a copy if it is not row-major contiguous) with one block per row. */
    static INDArray of(INDArray outIn, Granularity granularity) {
        long n = outIn.length();
        long length = switch (granularity.kind()) {
            case TENSOR -> n;
            case CHANNEL -> n / outIn.size(0);
            case GROUP -> granularity.groupSize();
        };
        return outIn.reshape('c', n / length, length);
    }
}
