package org.quant4j.ptq.awq;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidTensorException;

/**
 * What AWQ's scale search minimises (AutoAWQ {@code _compute_best_scale}: the mean squared difference
 * between the float output of {@code module2inspect} and its output with quantized weights). It is
 * given, for each layer of the scaled group, the candidate weight in the layer's <em>original</em> input
 * domain, {@code Ŵ = Q(W·diag(s))·diag(1/s)} ({@code [out, in]}, the layer's shape): running the block
 * with {@code Ŵ} in place of {@code W} is exactly running it with {@code Q(W·diag(s))} after {@code 1/s}
 * has been folded into the op before. A block loss (e.g. Q/K/V judged on the attention output) runs the
 * block's forward with the candidates; {@link #outputError} is the default.
 */
@FunctionalInterface
public interface AwqLoss {
    /**
     * The block's error with {@code candidates} (one per layer, in the order the layers were given). The
     * candidates are closed after the call: copy what must outlive it.
     */
    double evaluate(List<INDArray> candidates);

    /**
     * The layers' own output error on input rows {@code x} ({@code [rows, in]}), summed over the group:
     * {@code Σ_i ‖X·W_iᵀ − X·Ŵ_iᵀ‖²_F / rows}.
     */
    static AwqLoss outputError(INDArray x, List<INDArray> weights) {
        if (x.rank() != 2 || x.rows() == 0) {
            throw new InvalidTensorException("AWQ output error needs [rows, in] input rows, got shape "
                    + java.util.Arrays.toString(x.shape()));
        }
        INDArray xt = x.castTo(DataType.FLOAT).transpose().dup('c');
        List<INDArray> originals = new ArrayList<>();
        for (INDArray w : weights) {
            if (w.rank() != 2 || w.size(1) != x.size(1)) {
                throw new InvalidTensorException("AWQ output error: weight " + java.util.Arrays.toString(w.shape())
                        + " does not take inputs of width " + x.size(1));
            }
            originals.add(w.castTo(DataType.FLOAT));
        }
        double rows = x.rows();
        return candidates -> {
            double sum = 0;
            for (int i = 0; i < originals.size(); i++) {
                try (INDArray difference = originals.get(i).sub(candidates.get(i).castTo(DataType.FLOAT));
                     INDArray out = difference.mmul(xt)) {
                    double norm = out.norm2Number().doubleValue();
                    sum += norm * norm;
                }
            }
            return sum / rows;
        };
    }

    /**
     * {@link #outputError} computed from the inputs' second moment instead of the rows:
     * {@code Σ_i ‖X·(W_i − Ŵ_i)ᵀ‖²_F / rows = Σ_i tr(D_i G D_iᵀ)} with {@code D_i = W_i − Ŵ_i} and
     * {@code G = XᵀX / rows} ({@code [in, in]}; e.g. half the GPTQ Hessian {@code LayerStats.hessian()}). The
     * same number as the row form up to rounding, at {@code out·in²} operations per candidate instead of
     * {@code out·in·rows}.
     */
    static AwqLoss gramError(INDArray gram, List<INDArray> weights) {
        if (gram.rank() != 2 || gram.size(0) != gram.size(1)) {
            throw new InvalidTensorException("AWQ Gram error needs a square [in, in] matrix, got shape "
                    + java.util.Arrays.toString(gram.shape()));
        }
        INDArray g = gram.castTo(DataType.FLOAT).dup('c');
        List<INDArray> originals = new ArrayList<>();
        for (INDArray w : weights) {
            if (w.rank() != 2 || w.size(1) != g.size(0)) {
                throw new InvalidTensorException("AWQ Gram error: weight " + java.util.Arrays.toString(w.shape())
                        + " does not take inputs of width " + g.size(0));
            }
            originals.add(w.castTo(DataType.FLOAT));
        }
        return candidates -> {
            double sum = 0;
            for (int i = 0; i < originals.size(); i++) {
                try (INDArray difference = originals.get(i).sub(candidates.get(i).castTo(DataType.FLOAT));
                     INDArray dg = difference.mmul(g)) {
                    sum += dg.muli(difference).sumNumber().doubleValue();
                }
            }
            return sum;
        };
    }
}
