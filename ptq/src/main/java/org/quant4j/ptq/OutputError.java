package org.quant4j.ptq;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidTensorException;

/** The output error of a quantized layer on input rows, the figure GPTQ minimizes. */
public final class OutputError {
    private OutputError() {}

    /**
     * {@code ‖W Xᵀ − Ŵ Xᵀ‖²_F / ‖W Xᵀ‖²_F} for weights {@code [out, in]} (any rank, {@code shape[0] × rest})
     * and input rows {@code x: [rows, in]}.
     */
    public static double relative(INDArray w, INDArray quantized, INDArray x) {
        long in = w.length() / w.size(0);
        if (!Arrays.equals(w.shape(), quantized.shape()) || x.rank() != 2 || x.size(1) != in) {
            throw new InvalidTensorException("output error needs weights of one shape and [rows, " + in
                    + "] inputs; got " + Arrays.toString(w.shape()) + ", " + Arrays.toString(quantized.shape())
                    + ", " + Arrays.toString(x.shape()));
        }
        INDArray w2 = w.castTo(DataType.FLOAT).reshape('c', w.size(0), in);
        INDArray q2 = quantized.castTo(DataType.FLOAT).reshape('c', w.size(0), in);
        INDArray xt = x.castTo(DataType.FLOAT).transpose();
        INDArray reference = w2.mmul(xt);
        INDArray difference = w2.sub(q2).mmul(xt);
        double denominator = reference.norm2Number().doubleValue();
        double numerator = difference.norm2Number().doubleValue();
        return denominator == 0 ? (numerator == 0 ? 0 : Double.POSITIVE_INFINITY)
                : (numerator * numerator) / (denominator * denominator);
    }
}
