package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.NumberEncoding;

/**
 * Ternary b1.58 fake quantization per block (BitNet b1.58, Ma et al. 2024, eq. 1-3):
 * {@code γ = mean|w|}, {@code q = clamp(round(w / γ), -1, 1) · γ}, with γ rounded to its storage encoding.
 */
public final class TernaryWeightQuantizer implements WeightQuantizer {
    private final NumberEncoding scaleEncoding;

    public TernaryWeightQuantizer(NumberEncoding scaleEncoding) {
        this.scaleEncoding = scaleEncoding;
    }

    @Override
    public INDArray fakeQuantize(INDArray w) {
        INDArray gamma = Scales.encodedColumn(Transforms.abs(w, true).mean(1), scaleEncoding);
        INDArray q = w.divColumnVector(gamma);
        Transforms.round(q, false);
        Transforms.max(q, -1, false);
        Transforms.min(q, 1, false);
        return q.muliColumnVector(gamma);
    }
}
