package org.quant4j.model.bert;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.model.data.MissingDataException;

/**
 * A sentence-transformers / Hugging Face BERT-family sentence encoder: a {@link BertEncoder} read from the
 * model's ONNX export (any depth, width and head count; the graph says), the {@link WordPieceTokenizer} of
 * its {@code tokenizer.json}, and the {@link Pooling} head. {@link MiniLm#load()} is the built-in
 * all-MiniLM-L6-v2; {@link #load(Path, Path, Pooling)} reads a user's files, e.g.
 *
 * <pre>{@code
 * SentenceEncoder bge = SentenceEncoder.load(Path.of("model.onnx"), Path.of("tokenizer.json"), Pooling.CLS);
 * System.out.println(bge.onnxRuntimeAgreement(2)); // optional: our forward vs ONNX Runtime on the same file
 * INDArray e = bge.embed(List.of("A sentence.", "Another one."));
 * }</pre>
 *
 * <p>The ONNX file must be exported the way sentence-transformers' models are (PyTorch {@code BertModel},
 * inputs {@code input_ids}, {@code attention_mask}, {@code token_type_ids}, output {@code last_hidden_state},
 * LayerNorm / GELU / attention in primitive ops); anything else is refused naming the node and op. Immutable.
 */
public final class SentenceEncoder {
    /** Sentences per forward in {@link #embed(List)}. */
    public static final int BATCH_SIZE = 32;

    /** The sentences of {@link #onnxRuntimeAgreement(int)}: prose, punctuation, numbers, accents, CJK. */
    public static final List<String> CHECK_SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "In 1776, the Declaration of Independence was signed; 56 delegates signed it.",
            "Café au lait costs €3.50 at the crème brûlée stand in Zürich.",
            "北京 is the capital of China, and Tokyo is the capital of Japan.");

    private final WordPieceTokenizer tokenizer;
    private final BertEncoder encoder;
    private final Pooling pooling;
    /** The ONNX file's bytes for ONNX Runtime, read again on demand; null when the encoder came from memory. */
    private final Supplier<byte[]> onnxBytes;

    private SentenceEncoder(WordPieceTokenizer tokenizer, BertEncoder encoder, Pooling pooling,
                            Supplier<byte[]> onnxBytes) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.encoder = Objects.requireNonNull(encoder, "encoder");
        this.pooling = Objects.requireNonNull(pooling, "pooling");
        this.onnxBytes = onnxBytes;
        encoder.checkTokenizer(tokenizer);
        int fixed = tokenizer.padding().fixedLength();
        if (fixed > encoder.config().maxPositions()) {
            throw new ModelInputException("tokenizer " + tokenizer.source() + " pads every sequence to " + fixed
                    + " tokens but model " + encoder.source() + " has " + encoder.config().maxPositions()
                    + " positions");
        }
    }

    /**
     * Reads a user's encoder: the ONNX export and its Hugging Face {@code tokenizer.json}.
     *
     * @throws CorruptFileException      if a file does not exist (named) or is not what it should be
     * @throws UnsupportedModelException if the graph is not a supported BERT encoder (the node and op are named)
     *                                   or the tokenizer has a component other than BERT WordPiece's
     * @throws ModelInputException       if the tokenizer's vocabulary does not fit the model (both files named)
     */
    public static SentenceEncoder load(Path onnx, Path tokenizerJson, Pooling pooling) {
        requireFile(onnx, "ONNX");
        requireFile(tokenizerJson, "tokenizer");
        WordPieceTokenizer tokenizer = WordPieceTokenizer.read(tokenizerJson);
        BertEncoder encoder = BertEncoder.read(onnx);
        return new SentenceEncoder(tokenizer, encoder, pooling, () -> {
            try {
                return Files.readAllBytes(onnx);
            } catch (IOException e) {
                throw new CorruptFileException(onnx + ": cannot read: " + e.getMessage(), e);
            }
        });
    }

    /**
     * Reads an encoder whose files are classpath resources (e.g. {@code /bge-small-en-v1.5.onnx} inside a
     * model jar); see {@link #load(Path, Path, Pooling)}.
     *
     * @throws MissingDataException naming the resource when it is not on the classpath
     */
    public static SentenceEncoder fromResources(String onnxResource, String tokenizerResource, Pooling pooling) {
        WordPieceTokenizer tokenizer;
        try (InputStream in = resource(tokenizerResource)) {
            tokenizer = WordPieceTokenizer.read(in, tokenizerResource);
        } catch (IOException e) {
            throw new CorruptFileException(tokenizerResource + ": cannot read: " + e.getMessage(), e);
        }
        BertEncoder encoder;
        try (InputStream in = new BufferedInputStream(resource(onnxResource), 1 << 20)) {
            encoder = BertEncoder.read(in, onnxResource);
        } catch (IOException e) {
            throw new CorruptFileException(onnxResource + ": cannot read: " + e.getMessage(), e);
        }
        return of(tokenizer, encoder, pooling, () -> readResource(onnxResource));
    }

    /**
     * Pairs a tokenizer, an encoder and a pooling head. {@link #onnxRuntimeAgreement(int)} then needs the
     * ONNX bytes passed to it ({@link #onnxRuntimeAgreement(byte[], List, int)}).
     *
     * @throws ModelInputException if the tokenizer's vocabulary does not fit the encoder
     */
    public static SentenceEncoder of(WordPieceTokenizer tokenizer, BertEncoder encoder, Pooling pooling) {
        return new SentenceEncoder(tokenizer, encoder, pooling, null);
    }

    static SentenceEncoder of(WordPieceTokenizer tokenizer, BertEncoder encoder, Pooling pooling,
                              Supplier<byte[]> onnxBytes) {
        return new SentenceEncoder(tokenizer, encoder, pooling, onnxBytes);
    }

    /** The same encoder with another pooling head. */
    public SentenceEncoder withPooling(Pooling newPooling) {
        return new SentenceEncoder(tokenizer, encoder, newPooling, onnxBytes);
    }

    /** The same encoder with another tokenizer, e.g. {@code tokenizer().withTruncation(512)}. */
    public SentenceEncoder withTokenizer(WordPieceTokenizer newTokenizer) {
        return new SentenceEncoder(newTokenizer, encoder, pooling, onnxBytes);
    }

    public WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    public BertEncoder encoder() {
        return encoder;
    }

    public Pooling pooling() {
        return pooling;
    }

    public BertConfig config() {
        return encoder.config();
    }

    /** Tokenizes a batch with the model's tokenizer (its own truncation and padding). */
    public TokenBatch tokenize(List<String> sentences) {
        return tokenizer.encodeBatch(sentences);
    }

    /** Sentence embeddings {@code [batch, hidden]} of a token batch, pooled by this encoder's head. */
    public INDArray embed(TokenBatch batch) {
        return encoder.embed(batch, pooling);
    }

    /**
     * Sentence embeddings {@code [sentences, hidden]}, row i for sentence i. The sentences are run
     * {@value #BATCH_SIZE} at a time in order of token length, each batch padded only to its longest
     * sentence (padding never changes the states of the tokens under the mask, so this only saves time).
     *
     * @throws ModelInputException if there are no sentences, or one is longer (in tokens, after the tokenizer's
     *                             truncation) than the model's positions (the sentence and both files named)
     */
    public INDArray embed(List<String> sentences) {
        return embedBatched(sentences, batch -> encoder.embed(batch, pooling));
    }

    /**
     * As {@link #embed(List)}, with ONNX Runtime running {@code onnx} as the forward (e.g. another export of
     * this model, such as ONNX Runtime's int8 one): the same tokenizer, batching and pooling head.
     *
     * @param source  names the ONNX bytes in errors
     * @param threads ONNX Runtime's intra-op threads
     */
    public INDArray embedWithOnnxRuntime(byte[] onnx, String source, List<String> sentences, int threads) {
        try (OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(onnx, source, threads)) {
            return embedBatched(sentences, batch -> ort.embed(batch, pooling));
        } catch (NoClassDefFoundError e) {
            throw onnxRuntimeMissing(source);
        }
    }

    private INDArray embedBatched(List<String> sentences, Function<TokenBatch, INDArray> forward) {
        if (sentences.isEmpty()) {
            throw new ModelInputException("no sentences to embed");
        }
        WordPieceTokenizer batchLongest = tokenizer.withPadding(Padding.batchLongest());
        int maxPositions = encoder.config().maxPositions();
        int[] lengths = new int[sentences.size()];
        Integer[] order = new Integer[sentences.size()];
        for (int i = 0; i < order.length; i++) {
            lengths[i] = batchLongest.encode(sentences.get(i)).length;
            if (lengths[i] > maxPositions) {
                throw new ModelInputException("sentence " + i + " is " + lengths[i] + " tokens long but model "
                        + encoder.source() + " has " + maxPositions + " positions and tokenizer " + tokenizer.source()
                        + " does not truncate it: use withTokenizer(tokenizer().withTruncation(" + maxPositions + "))");
            }
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> lengths[a] != lengths[b] ? Integer.compare(lengths[a], lengths[b])
                : Integer.compare(a, b));
        INDArray out = Nd4j.create(DataType.FLOAT, sentences.size(), encoder.config().hiddenSize());
        for (int from = 0; from < order.length; from += BATCH_SIZE) {
            int to = Math.min(order.length, from + BATCH_SIZE);
            List<String> chunk = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                chunk.add(sentences.get(order[i]));
            }
            INDArray embedded = forward.apply(batchLongest.encodeBatch(chunk));
            for (int i = from; i < to; i++) {
                out.putRow(order[i], embedded.getRow(i - from));
            }
        }
        return out;
    }

    /**
     * The ONNX file this encoder was read from, read again.
     *
     * @throws ModelInputException if this encoder was made by {@link #of} (no file to read again)
     */
    public byte[] onnxFile() {
        if (onnxBytes == null) {
            throw new ModelInputException(encoder.source() + ": this SentenceEncoder was built in memory; pass the "
                    + "ONNX bytes to onnxRuntimeAgreement(byte[], List, int)");
        }
        return onnxBytes.get();
    }

    /**
     * Runs {@link #CHECK_SENTENCES} through our fp32 forward and through ONNX Runtime on the same ONNX file
     * (read again from where it was loaded) and reports the differences; a correctly read model agrees to
     * about 1e-5. Needs {@code com.microsoft.onnxruntime:onnxruntime} on the classpath.
     *
     * @param threads ONNX Runtime's intra-op threads
     * @throws ModelInputException  if this encoder was made by {@link #of} (no file to read again)
     * @throws MissingDataException if ONNX Runtime is not on the classpath
     */
    public OnnxRuntimeAgreement onnxRuntimeAgreement(int threads) {
        return onnxRuntimeAgreement(onnxFile(), CHECK_SENTENCES, threads);
    }

    /** As {@link #onnxRuntimeAgreement(int)} on the given ONNX bytes (this encoder's file) and sentences. */
    public OnnxRuntimeAgreement onnxRuntimeAgreement(byte[] onnx, List<String> sentences, int threads) {
        TokenBatch batch = tokenizer.withPadding(Padding.batchLongest()).encodeBatch(sentences);
        INDArray theirs;
        try (OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(onnx, encoder.source(), threads)) {
            theirs = ort.lastHiddenState(batch);
        } catch (NoClassDefFoundError e) {
            throw onnxRuntimeMissing(encoder.source());
        }
        INDArray ours = encoder.forward(batch);
        double embeddingDiff = Transforms.abs(SentencePooling.pool(ours, batch, pooling)
                .sub(SentencePooling.pool(theirs, batch, pooling))).maxNumber().doubleValue();
        return new OnnxRuntimeAgreement(encoder.source(), batch.batchSize(), batch.maskedPositions().length,
                OnnxRuntimeAgreement.maxAbsDiffUnderMask(ours, theirs, batch),
                OnnxRuntimeAgreement.maxAbsUnderMask(theirs, batch), embeddingDiff);
    }

    @Override
    public String toString() {
        BertConfig c = encoder.config();
        return "SentenceEncoder[" + encoder.source() + ", " + c.layers() + " layers, hidden " + c.hiddenSize() + ", "
                + c.heads() + " heads, pooling " + pooling + ", tokenizer " + tokenizer.source() + "]";
    }

    private static MissingDataException onnxRuntimeMissing(String source) {
        return new MissingDataException(source + ": ONNX Runtime is not on the classpath: add "
                + "com.microsoft.onnxruntime:onnxruntime to run it");
    }

    private static void requireFile(Path file, String what) {
        if (!Files.exists(file)) {
            throw new CorruptFileException(file + ": no such " + what + " file");
        }
        if (!Files.isRegularFile(file)) {
            throw new CorruptFileException(file + ": is not a file (expected the " + what + " file)");
        }
    }

    private static InputStream resource(String name) {
        InputStream in = SentenceEncoder.class.getResourceAsStream(name);
        if (in == null) {
            throw new MissingDataException("classpath resource " + name + " not found: add the jar that holds it "
                    + "to the classpath");
        }
        return in;
    }

    private static byte[] readResource(String name) {
        try (InputStream in = resource(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new CorruptFileException(name + ": cannot read: " + e.getMessage(), e);
        }
    }
}
