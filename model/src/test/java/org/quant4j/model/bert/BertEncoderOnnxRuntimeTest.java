package org.quant4j.model.bert;

import static org.assertj.core.data.Offset.offset;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Our ND4J forward of all-MiniLM-L6-v2 against ONNX Runtime running the same .onnx file on real
 * sentences: {@code last_hidden_state} under the mask and the pooled sentence embeddings agree to 1e-4
 * (max abs). A wrong token id, weight, head split, mask or GELU would break this by orders of magnitude.
 * Also measures ONNX Runtime's own int8 model (the peer to beat) against fp32.
 */
class BertEncoderOnnxRuntimeTest {
    private static final double TOLERANCE = 1e-4;

    private static MiniLm model;
    private static OnnxRuntimeEncoder reference;

    @BeforeAll
    static void load() {
        model = MiniLm.load();
        reference = OnnxRuntimeEncoder.open(MiniLm.readAllBytes(MiniLm.ONNX_RESOURCE), MiniLm.ONNX_RESOURCE, 2);
    }

    @AfterAll
    static void close() {
        reference.close();
    }

    /** max |a − b| over the positions under the mask. */
    private static double maxAbsDiffUnderMask(INDArray a, INDArray b, TokenBatch batch) {
        INDArray mask = Nd4j.createFromArray(batch.attentionMask()).castTo(DataType.FLOAT)
                .reshape(batch.batchSize(), batch.sequenceLength(), 1);
        INDArray diff = Transforms.abs(a.sub(b));
        return diff.muli(mask.broadcast(diff.shape())).maxNumber().doubleValue();
    }

    @Test
    void hiddenStatesAndEmbeddingsAgreeWithOnnxRuntimeAtFixedPadding() {
        TokenBatch batch = model.tokenize(TestSentences.ALL);
        assertThat(batch.sequenceLength()).isEqualTo(128);
        assertThat(batch.length(TestSentences.ALL.size() - 1)).as("the over-long sentence is truncated").isEqualTo(128);

        INDArray ours = model.encoder().forward(batch);
        INDArray theirs = reference.lastHiddenState(batch);
        assertThat(ours.shape()).containsExactly(12, 128, 384);
        double hiddenDiff = maxAbsDiffUnderMask(ours, theirs, batch);
        double embeddingDiff = Transforms.abs(model.encoder().embed(batch).sub(reference.embed(batch)))
                .maxNumber().doubleValue();
        System.out.printf("ND4J vs ONNX Runtime on %d sentences: last_hidden_state max abs diff %.2e "
                + "(values up to %.2f), embeddings %.2e%n", batch.batchSize(), hiddenDiff,
                Transforms.abs(theirs).maxNumber().doubleValue(), embeddingDiff);
        assertThat(hiddenDiff).isLessThan(TOLERANCE);
        assertThat(embeddingDiff).isLessThan(TOLERANCE);
    }

    @Test
    void agreementHoldsWhenPaddingOnlyToTheLongest() {
        List<String> shortOnes = TestSentences.ALL.subList(0, 11);
        TokenBatch batch = model.tokenizer().withPadding(Padding.batchLongest()).encodeBatch(shortOnes);
        assertThat(batch.sequenceLength()).isLessThan(40);
        assertThat(maxAbsDiffUnderMask(model.encoder().forward(batch), reference.lastHiddenState(batch), batch))
                .isLessThan(TOLERANCE);
        // MiniLm.embed sorts by length and pads per batch: same embeddings as the fixed-padding batch.
        INDArray sorted = model.embed(shortOnes);
        INDArray fixed = reference.embed(model.tokenize(shortOnes));
        assertThat(Transforms.abs(sorted.sub(fixed)).maxNumber().doubleValue()).isLessThan(TOLERANCE);
    }

    @Test
    void embeddingsAreUnitLengthAndSeparateMeanings() {
        INDArray e = model.embed(List.of("A man is playing a guitar.", "Someone plays the guitar.",
                "The stock market fell sharply today."));
        INDArray norms = e.norm2(1);
        assertThat(norms.minNumber().doubleValue()).isCloseTo(1.0, offset(1e-5));
        double related = e.getRow(0).mul(e.getRow(1)).sumNumber().doubleValue();
        double unrelated = e.getRow(0).mul(e.getRow(2)).sumNumber().doubleValue();
        assertThat(related).isGreaterThan(0.6).isGreaterThan(unrelated + 0.4);
    }

    /** ONNX Runtime's dynamic-int8 twin, the model quant4j must beat: cosine of its embeddings to fp32. */
    @Test
    void onnxRuntimeInt8ModelCosineToFp32() {
        TokenBatch batch = model.tokenize(TestSentences.ALL);
        INDArray fp32 = reference.embed(batch);
        INDArray int8;
        try (OnnxRuntimeEncoder q = OnnxRuntimeEncoder.open(MiniLm.readAllBytes(MiniLm.INT8_ONNX_RESOURCE),
                MiniLm.INT8_ONNX_RESOURCE, 2)) {
            int8 = q.embed(batch);
        }
        INDArray cosines = fp32.mul(int8).sum(1);
        double mean = cosines.meanNumber().doubleValue();
        double min = cosines.minNumber().doubleValue();
        System.out.printf("ONNX Runtime int8 (all-minilm-l6-v2-q) vs fp32 on %d sentences: mean cosine %.5f, min %.5f%n",
                batch.batchSize(), mean, min);
        assertThat(mean).isGreaterThan(0.9).isLessThan(0.99999);
        assertThat(min).isGreaterThan(0.8);
    }
}
