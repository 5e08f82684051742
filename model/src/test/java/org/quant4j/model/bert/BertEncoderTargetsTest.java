package org.quant4j.model.bert;

import static org.assertj.core.data.Offset.offset;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import onnx.Onnx;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.InvalidTensorException;

/**
 * The quantization view of all-MiniLM-L6-v2: the 36 dense layers as named targets with PyTorch-layout
 * weights, writing weights back, capturing input activations, clear errors, and the forward's speed.
 */
class BertEncoderTargetsTest {
    private static final String QUERY0 = "encoder.layer.0.attention.self.query";

    private static MiniLm model;
    private static BertEncoder encoder;
    private static TokenBatch batch;

    @BeforeAll
    static void load() {
        model = MiniLm.load();
        encoder = model.encoder();
        batch = model.tokenizer().withPadding(Padding.batchLongest()).encodeBatch(TestSentences.ALL.subList(0, 8));
    }

    @Test
    void configurationIsReadFromTheGraph() {
        BertConfig c = encoder.config();
        assertThat(List.of(c.vocabSize(), c.hiddenSize(), c.layers(), c.heads(), c.headDim(), c.intermediateSize(),
                c.maxPositions(), c.typeVocabSize())).containsExactly(30_522, 384, 6, 12, 32, 1536, 512, 2);
        assertThat(c.attentionDivisor()).isCloseTo((float) Math.sqrt(32), offset(1e-6f));
        assertThat(c.geluDivisor()).isCloseTo((float) Math.sqrt(2), offset(1e-6f));
        assertThat(encoder.onnxOps()).containsEntry("MatMul", 48).containsEntry("Erf", 6).containsEntry("Softmax", 6);
        assertThat(BertEncoder.SUPPORTED_OPS).containsAll(encoder.onnxOps().keySet());
    }

    @Test
    void thirtySixTargetsInExecutionOrderWithPyTorchShapes() {
        List<LinearTarget> targets = encoder.targets();
        assertThat(targets).hasSize(36);
        for (int layer = 0; layer < 6; layer++) {
            List<LinearTarget> six = targets.subList(6 * layer, 6 * layer + 6);
            String p = "encoder.layer." + layer + ".";
            assertThat(six).extracting(LinearTarget::name).containsExactly(p + "attention.self.query",
                    p + "attention.self.key", p + "attention.self.value", p + "attention.output.dense",
                    p + "intermediate.dense", p + "output.dense");
            for (LinearTarget t : six) {
                assertThat(t.layer()).isEqualTo(layer);
                long[] expected = switch (t.role()) {
                    case FFN_IN -> new long[]{1536, 384};
                    case FFN_OUT -> new long[]{384, 1536};
                    default -> new long[]{384, 384};
                };
                assertThat(encoder.weight(t.name()).shape()).containsExactly(expected);
                assertThat(new long[]{t.outFeatures(), t.inFeatures()}).containsExactly(expected);
            }
        }
        assertThat(encoder.parameterNames()).hasSize(3 + 2 + 6 * (6 * 2 + 2 * 2))
                .contains("embeddings.word_embeddings.weight", "encoder.layer.5.output.LayerNorm.bias",
                        "encoder.layer.3.intermediate.dense.bias");
    }

    /**
     * The ONNX file stores each MatMul operand as [in, out] (y = x·B); the target weight is its transpose.
     * Checked against the initializer of the node the exporter named after the query layer (the reader
     * itself never looks at names).
     */
    @Test
    void weightIsTheTransposeOfTheOnnxMatMulOperand() throws IOException {
        OnnxGraph graph;
        try (InputStream in = new BufferedInputStream(MiniLm.open(MiniLm.ONNX_RESOURCE), 1 << 20)) {
            graph = OnnxGraph.read(in, MiniLm.ONNX_RESOURCE);
        }
        Onnx.NodeProto node = graph.producer("/encoder/layer.0/attention/self/query/MatMul_output_0");
        INDArray operand = Nd4j.create(graph.floats(node.getInput(1)), new long[]{384, 384}, 'c');
        assertThat(encoder.weight(QUERY0)).isEqualTo(operand.transpose());
    }

    @Test
    void setWeightRoundTripsAndChangesTheForward() {
        INDArray original = encoder.weight(QUERY0);
        INDArray before = encoder.forward(batch);
        INDArray changed = original.mul(0.5);
        try {
            encoder.setWeight(QUERY0, changed);
            assertThat(encoder.weight(QUERY0)).isEqualTo(changed);
            changed.assign(0);
            assertThat(encoder.weight(QUERY0)).as("the model holds a copy").isNotEqualTo(changed);
            assertThat(Transforms.abs(encoder.forward(batch).sub(before)).maxNumber().doubleValue()).isGreaterThan(1e-3);
        } finally {
            encoder.setWeight(QUERY0, original);
        }
        assertThat(encoder.forward(batch)).isEqualTo(before);
        // A weight read and written back unchanged leaves the model bit-identical.
        for (LinearTarget t : encoder.targets()) {
            encoder.setWeight(t.name(), encoder.weight(t.name()));
        }
        assertThat(encoder.forward(batch)).isEqualTo(before);
    }

    @Test
    void badWeightsAreRejectedNamingTheParameter() {
        INDArray nan = encoder.weight(QUERY0);
        nan.putScalar(3, 7, Float.NaN);
        assertThatThrownBy(() -> encoder.setWeight(QUERY0, nan)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining(QUERY0 + ".weight").hasMessageContaining("NaN");
        assertThatThrownBy(() -> encoder.setWeight(QUERY0, Nd4j.zeros(DataType.FLOAT, 384, 383)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("[384, 384]");
        assertThatThrownBy(() -> encoder.weight("encoder.layer.6.attention.self.query"))
                .isInstanceOf(ModelInputException.class).hasMessageContaining("encoder.layer.6.attention.self.query");
        assertThat(encoder.weight(QUERY0).isNaN().any()).isFalse();
    }

    @Test
    void hookReceivesTheInputRowsOfTheTokensUnderTheMask() {
        Map<String, INDArray> seen = new LinkedHashMap<>();
        encoder.forward(batch, new ActivationHook() {
            @Override
            public boolean wants(LinearTarget target) {
                return true;
            }

            @Override
            public void accept(LinearTarget target, INDArray rows) {
                seen.put(target.name(), rows);
            }
        });
        int tokens = batch.maskedPositions().length;
        assertThat(tokens).isLessThan(batch.batchSize() * batch.sequenceLength());
        assertThat(seen.keySet()).containsExactlyElementsOf(encoder.targets().stream().map(LinearTarget::name).toList());
        for (LinearTarget t : encoder.targets()) {
            assertThat(seen.get(t.name()).shape()).containsExactly(tokens, t.inFeatures());
        }
        // Query, key and value read the same rows; GELU outputs (the FFN-out input) are never below −0.17.
        assertThat(seen.get("encoder.layer.2.attention.self.key")).isEqualTo(seen.get("encoder.layer.2.attention.self.query"));
        assertThat(seen.get("encoder.layer.2.output.dense").minNumber().doubleValue()).isGreaterThan(-0.1701);
        String target = "encoder.layer.3.intermediate.dense";
        assertThat(encoder.captureInputs(batch, target)).isEqualTo(seen.get(target));
    }

    @Test
    void capturedRowsDoNotDependOnPadding() {
        String target = "encoder.layer.1.attention.output.dense";
        TokenBatch fixed = model.tokenize(TestSentences.ALL.subList(0, 8));
        INDArray a = encoder.captureInputs(batch, target);
        INDArray b = encoder.captureInputs(fixed, target);
        assertThat(b.shape()).containsExactly(a.shape());
        assertThat(Transforms.abs(a.sub(b)).maxNumber().doubleValue()).isLessThan(1e-4);
    }

    @Test
    void inputTheModelCannotRunIsRejected() {
        WordPieceTokenizer untruncated = model.tokenizer().withoutTruncation().withPadding(Padding.batchLongest());
        TokenBatch tooLong = untruncated.encodeBatch(List.of(String.join(" ", Collections.nCopies(600, "word"))));
        assertThat(tooLong.sequenceLength()).isEqualTo(602);
        assertThatThrownBy(() -> encoder.forward(tooLong)).isInstanceOf(ModelInputException.class)
                .hasMessageContaining("602 tokens").hasMessageContaining("512 positions");

        int[] ids = {101, 30_522, 102};
        TokenBatch badId = new TokenBatch(1, 3, ids, new int[]{1, 1, 1}, new int[3]);
        assertThatThrownBy(() -> encoder.forward(badId)).isInstanceOf(ModelInputException.class)
                .hasMessageContaining("token id 30522").hasMessageContaining("30522 rows");
        assertThatThrownBy(() -> new TokenBatch(1, 3, ids, new int[]{1, 2, 1}, new int[3]))
                .isInstanceOf(ModelInputException.class).hasMessageContaining("attention_mask[0, 1]");
        TokenBatch empty = new TokenBatch(1, 2, new int[]{0, 0}, new int[]{0, 0}, new int[2]);
        assertThatThrownBy(() -> encoder.embed(empty)).isInstanceOf(ModelInputException.class)
                .hasMessageContaining("no token under the attention mask");
    }

    @Test
    void tokenizerOfAnotherVocabularyIsRejected() throws IOException {
        WordPieceTokenizer tiny;
        try (InputStream in = getClass().getResourceAsStream("tiny-tokenizer.json")) {
            tiny = WordPieceTokenizer.read(in, "tiny-tokenizer.json");
        }
        WordPieceTokenizer small = tiny;
        assertThatThrownBy(() -> MiniLm.of(small, encoder)).isInstanceOf(ModelInputException.class)
                .hasMessageContaining("tiny-tokenizer.json has 11 tokens").hasMessageContaining("30522 word embeddings");
    }

    /** Prints sentences/s at batch 32 x 128 tokens (the README figure); fails only if absurdly slow. */
    @Test
    void forwardSpeedAtBatch32Sequence128() {
        List<String> sentences = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            sentences.add(TestSentences.OVER_LONG + " " + i);
        }
        TokenBatch full = model.tokenize(sentences);
        assertThat(full.maskedPositions()).hasSize(32 * 128);
        encoder.forward(full);
        long start = System.nanoTime();
        encoder.forward(full);
        long best = System.nanoTime() - start;
        double perSecond = 32 / (best / 1e9);
        System.out.printf("MiniLM ND4J forward, batch 32 x 128 tokens: %.0f ms, %.1f sentences/s (%d cores)%n",
                best / 1e6, perSecond, Runtime.getRuntime().availableProcessors());
        assertThat(perSecond).isGreaterThan(2.0);
    }
}
