package org.quant4j.model.bert;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The sentence-transformers head of all-MiniLM-L6-v2 ({@code Pooling(mode=mean)} then {@code Normalize}):
 * the mean of the token states under the attention mask, then division by the L2 norm
 * ({@code x / max(‖x‖₂, 1e-12)}, as {@code torch.nn.functional.normalize}).
 */
public final class SentencePooling {
    private static final double NORM_FLOOR = 1e-12;

    private SentencePooling() {
    }

    /**
     * {@code hidden [batch, seq, width]} -> {@code [batch, width]}: per sequence, the mean over the
     * positions whose mask is 1.
     *
     * @throws ModelInputException if the shapes disagree or a sequence has no token under the mask
     */
    public static INDArray meanPool(INDArray hidden, TokenBatch batch) {
        int b = batch.batchSize();
        int seq = batch.sequenceLength();
        if (hidden.rank() != 3 || hidden.size(0) != b || hidden.size(1) != seq) {
            throw new ModelInputException("hidden states of shape " + Arrays.toString(hidden.shape())
                    + " do not match a token batch of " + b + " x " + seq);
        }
        int width = (int) hidden.size(2);
        float[] h = hidden.castTo(DataType.FLOAT).dup('c').data().asFloat();
        int[] mask = batch.attentionMask();
        float[] pooled = new float[b * width];
        double[] sum = new double[width];
        for (int s = 0; s < b; s++) {
            Arrays.fill(sum, 0);
            int count = 0;
            for (int t = 0; t < seq; t++) {
                if (mask[s * seq + t] == 1) {
                    count++;
                    int base = (s * seq + t) * width;
                    for (int j = 0; j < width; j++) {
                        sum[j] += h[base + j];
                    }
                }
            }
            if (count == 0) {
                throw new ModelInputException("sequence " + s + " of the batch has no token under the attention mask");
            }
            for (int j = 0; j < width; j++) {
                pooled[s * width + j] = (float) (sum[j] / count);
            }
        }
        return Nd4j.create(pooled, new long[]{b, width}, 'c');
    }

    /** Each row divided by its L2 norm (rows of norm below 1e-12 are divided by 1e-12). */
    public static INDArray normalize(INDArray rows) {
        INDArray norms = Transforms.max(rows.norm2(true, 1), NORM_FLOOR, false);
        return rows.divColumnVector(norms);
    }
}
