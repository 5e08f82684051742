package org.quant4j.model.bert;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The sentence-transformers head ({@code Pooling}, then optionally {@code Normalize}) as {@link Pooling}
 * selects it: mean or maximum over the token states under the attention mask, or the first ({@code [CLS]})
 * token's state; then division by the L2 norm ({@code x / max(‖x‖₂, 1e-12)}, as
 * {@code torch.nn.functional.normalize}). all-MiniLM-L6-v2 is {@link Pooling#MEAN}.
 */
public final class SentencePooling {
    private static final double NORM_FLOOR = 1e-12;

    private SentencePooling() {
    }

    /**
     * {@code hidden [batch, seq, width]} -> sentence embeddings {@code [batch, width]} as {@code pooling} says.
     *
     * @throws ModelInputException if the shapes disagree or a sequence has no token under the mask
     */
    public static INDArray pool(INDArray hidden, TokenBatch batch, Pooling pooling) {
        INDArray pooled = switch (pooling.mode()) {
            case MEAN -> meanPool(hidden, batch);
            case CLS -> clsPool(hidden, batch);
            case MAX -> maxPool(hidden, batch);
        };
        return pooling.normalize() ? normalize(pooled) : pooled;
    }

    /**
     * {@code hidden [batch, seq, width]} -> {@code [batch, width]}: per sequence, the mean over the
     * positions whose mask is 1.
     *
     * @throws ModelInputException if the shapes disagree or a sequence has no token under the mask
     */
    public static INDArray meanPool(INDArray hidden, TokenBatch batch) {
        return reduce(hidden, batch, false);
    }

    /**
     * {@code hidden [batch, seq, width]} -> {@code [batch, width]}: per sequence and dimension, the maximum
     * over the positions whose mask is 1 (sentence-transformers sets the masked states to −1e9 first).
     *
     * @throws ModelInputException if the shapes disagree or a sequence has no token under the mask
     */
    public static INDArray maxPool(INDArray hidden, TokenBatch batch) {
        return reduce(hidden, batch, true);
    }

    /**
     * {@code hidden [batch, seq, width]} -> {@code [batch, width]}: per sequence, the state at position 0 (the
     * {@code [CLS]} token the tokenizer's template puts first), as sentence-transformers takes it.
     *
     * @throws ModelInputException if the shapes disagree
     */
    public static INDArray clsPool(INDArray hidden, TokenBatch batch) {
        requireShape(hidden, batch);
        return hidden.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).castTo(DataType.FLOAT)
                .dup('c');
    }

    private static INDArray reduce(INDArray hidden, TokenBatch batch, boolean max) {
        requireShape(hidden, batch);
        int b = batch.batchSize();
        int seq = batch.sequenceLength();
        int width = (int) hidden.size(2);
        float[] h = hidden.castTo(DataType.FLOAT).dup('c').data().asFloat();
        int[] mask = batch.attentionMask();
        float[] pooled = new float[b * width];
        double[] acc = new double[width];
        for (int s = 0; s < b; s++) {
            Arrays.fill(acc, max ? Double.NEGATIVE_INFINITY : 0);
            int count = 0;
            for (int t = 0; t < seq; t++) {
                if (mask[s * seq + t] == 1) {
                    count++;
                    int base = (s * seq + t) * width;
                    for (int j = 0; j < width; j++) {
                        acc[j] = max ? Math.max(acc[j], h[base + j]) : acc[j] + h[base + j];
                    }
                }
            }
            if (count == 0) {
                throw new ModelInputException("sequence " + s + " of the batch has no token under the attention mask");
            }
            for (int j = 0; j < width; j++) {
                pooled[s * width + j] = (float) (max ? acc[j] : acc[j] / count);
            }
        }
        return Nd4j.create(pooled, new long[]{b, width}, 'c');
    }

    private static void requireShape(INDArray hidden, TokenBatch batch) {
        if (hidden.rank() != 3 || hidden.size(0) != batch.batchSize() || hidden.size(1) != batch.sequenceLength()) {
            throw new ModelInputException("hidden states of shape " + Arrays.toString(hidden.shape())
                    + " do not match a token batch of " + batch.batchSize() + " x " + batch.sequenceLength());
        }
    }

    /** Each row divided by its L2 norm (rows of norm below 1e-12 are divided by 1e-12). */
    public static INDArray normalize(INDArray rows) {
        INDArray norms = Transforms.max(rows.norm2(true, 1), NORM_FLOOR, false);
        return rows.divColumnVector(norms);
    }
}
