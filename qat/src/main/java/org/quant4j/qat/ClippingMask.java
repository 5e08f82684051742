package org.quant4j.qat;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Where a fake quantizer's gradient passes (1) or is clipped (0). */
final class ClippingMask {
    private ClippingMask() {}

    /**
     * PyTorch's {@code fake_quantize_per_tensor_affine} backward: 1 where the rounded code
     * {@code rint((a - offset)/s) + z} lies in {@code [0, 2^b - 1]}, i.e. the element was not clamped.
     */
    static INDArray roundedCodeInRange(AffineGrid g, INDArray a) {
        INDArray q = IntFakeQuant.rint(g.coordinate(a));
        return q.gte(g.low()).castTo(a.dataType()).muli(q.lte(g.high()).castTo(a.dataType()));
    }

    /** LSQ (Esser et al. 2020, eq. 5): 1 where {@code -Qn < v/s < Qp} strictly, for the coordinate {@code u = v/s}. */
    static INDArray strictlyInside(INDArray u, float low, float high) {
        DataType t = u.dataType();
        return u.gt(low).castTo(t).muli(u.lt(high).castTo(t));
    }
}
