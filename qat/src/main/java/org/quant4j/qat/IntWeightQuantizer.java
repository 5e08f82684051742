package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.NumberEncoding;

/**
 * Uniform integer fake quantization per block (row), with the scale rounded to its storage encoding.
 * <ul>
 * <li>symmetric, restricted range: {@code s = max|w| / (2^(b-1)-1)}, {@code q = clamp(round(w/s), -(2^(b-1)-1), 2^(b-1)-1) * s}
 *     (Jacob et al. 2018 / TensorRT's symmetric weight scheme; the grid is symmetric around 0);</li>
 * <li>asymmetric: the range is widened to include 0 (so 0 is exact), {@code s = (max-min) / (2^b-1)},
 *     integer zero point {@code z = round(-min/s)}, {@code q = (clamp(round(w/s) + z, 0, 2^b-1) - z) * s}
 *     (Jacob et al. 2018, eq. 1; GPTQ's {@code Quantizer.find_params}).</li>
 * </ul>
 */
public final class IntWeightQuantizer implements WeightQuantizer {
    private final int bits;
    private final boolean symmetric;
    private final NumberEncoding scaleEncoding;

    public IntWeightQuantizer(int bits, boolean symmetric, NumberEncoding scaleEncoding) {
        this.bits = bits;
        this.symmetric = symmetric;
        this.scaleEncoding = scaleEncoding;
    }

    @Override
    public INDArray fakeQuantize(INDArray blocks) {
        return symmetric ? symmetric(blocks) : asymmetric(blocks);
    }

    private INDArray symmetric(INDArray w) {
        int qmax = (1 << (bits - 1)) - 1;
        INDArray scale = Scales.encodedColumn(Transforms.abs(w, true).max(1).divi(qmax), scaleEncoding);
        INDArray q = w.divColumnVector(scale);
        Transforms.round(q, false);
        Transforms.max(q, -qmax, false);
        Transforms.min(q, qmax, false);
        return q.muliColumnVector(scale);
    }

    private INDArray asymmetric(INDArray w) {
        int qmax = (1 << bits) - 1;
        INDArray min = Transforms.min(w.min(1), 0.0, false);
        INDArray max = Transforms.max(w.max(1), 0.0, false);
        INDArray scale = Scales.encodedColumn(max.sub(min).divi(qmax), scaleEncoding);
        INDArray zero = Transforms.round(min.reshape(min.length(), 1).negi().divi(scale), false);
        INDArray q = w.divColumnVector(scale);
        Transforms.round(q, false);
        q.addiColumnVector(zero);
        Transforms.max(q, 0, false);
        Transforms.min(q, qmax, false);
        return q.subiColumnVector(zero).muliColumnVector(scale);
    }
}
