package org.quant4j.model.bert;

import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * How closely quant4j's fp32 forward of an encoder matches ONNX Runtime running the same {@code .onnx} file
 * ({@link SentenceEncoder#onnxRuntimeAgreement}): max abs differences over the tokens under the mask.
 *
 * @param source             the ONNX file compared
 * @param sentences          sentences run
 * @param tokens             tokens under the mask
 * @param hiddenMaxAbsDiff   max |ours − ONNX Runtime| of {@code last_hidden_state} under the mask
 * @param hiddenMaxAbs       max |ONNX Runtime's {@code last_hidden_state}| under the mask (the scale)
 * @param embeddingMaxAbsDiff max |ours − ONNX Runtime| of the pooled sentence embeddings
 */
public record OnnxRuntimeAgreement(String source, int sentences, int tokens, double hiddenMaxAbsDiff,
                                   double hiddenMaxAbs, double embeddingMaxAbsDiff) {
    /** One line for a log or the CLI. */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s: ours vs ONNX Runtime on %d sentences (%d tokens): last_hidden_state "
                + "max abs diff %.2e (values up to %.2f), pooled embeddings %.2e", source, sentences, tokens,
                hiddenMaxAbsDiff, hiddenMaxAbs, embeddingMaxAbsDiff);
    }

    /** max |a − b| over the positions under the mask of hidden states {@code [batch, seq, width]}. */
    static double maxAbsDiffUnderMask(INDArray a, INDArray b, TokenBatch batch) {
        return maxAbsUnderMask(a.castTo(DataType.FLOAT).sub(b.castTo(DataType.FLOAT)), batch);
    }

    /** max |a| over the positions under the mask of hidden states {@code [batch, seq, width]}. */
    static double maxAbsUnderMask(INDArray a, TokenBatch batch) {
        INDArray mask = Nd4j.createFromArray(batch.attentionMask()).castTo(DataType.FLOAT)
                .reshape(batch.batchSize(), batch.sequenceLength(), 1);
        INDArray abs = Transforms.abs(a.castTo(DataType.FLOAT), true);
        return abs.muli(mask.broadcast(abs.shape())).maxNumber().doubleValue();
    }
}
