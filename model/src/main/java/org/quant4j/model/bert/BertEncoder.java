package org.quant4j.model.bert;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import onnx.Onnx;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.io.CorruptFileException;

/**
 * A BERT encoder read from an ONNX export and run by ND4J: embeddings (word + token type + position)
 * and LayerNorm, then the encoder layers ({@link BertLayer}); the output is {@code last_hidden_state
 * [batch, seq, hidden]}, the same tensor the ONNX graph computes. {@link #embed(TokenBatch, Pooling)} adds
 * the sentence-transformers head ({@link Pooling}; {@link #embed(TokenBatch)} is MiniLM's mean + L2 norm).
 *
 * <p>For quantization, the encoder's dense layers are {@linkplain #targets() targets} whose weights are
 * read and written in PyTorch layout {@code [out, in]} ({@link #weight}, {@link #setWeight}); every
 * parameter is also reachable by its PyTorch {@code state_dict} name ({@link #parameterNames()}).
 * {@link #forward(TokenBatch, ActivationHook)} hands a target's input rows to a hook, and
 * {@link #captureInputs} runs only as far as a target's layer.
 *
 * <p>Not thread-safe for concurrent {@code setWeight} and forward; concurrent forwards are fine.
 */
public final class BertEncoder {
    /** Every ONNX op type the reader accepts; a graph with any other op is rejected, naming it. */
    public static final Set<String> SUPPORTED_OPS = BertGraphReader.SUPPORTED_OPS;

    private static final String SCRATCH_ID = "quant4j-bert-layer";
    private static final WorkspaceConfiguration SCRATCH = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyLearning(LearningPolicy.FIRST_LOOP)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .policySpill(SpillPolicy.REALLOCATE)
            .build();

    private final String source;
    private final BertConfig config;
    private final SortedMap<String, Integer> onnxOps;
    private final INDArray wordEmbeddings;
    private final INDArray positionEmbeddings;
    private final INDArray tokenTypeEmbeddings;
    private final LayerNorm embeddingNorm;
    private final List<BertLayer> layers;
    private final List<LinearTarget> targets;
    private final Map<String, Linear> linearsByName = new LinkedHashMap<>();
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, String> onnxInitializers;

    private BertEncoder(String source, BertWeights w, SortedMap<String, Integer> onnxOps) {
        this.source = source;
        this.config = w.config();
        this.onnxOps = Collections.unmodifiableSortedMap(onnxOps);
        this.wordEmbeddings = w.wordEmbeddings();
        this.positionEmbeddings = w.positionEmbeddings();
        this.tokenTypeEmbeddings = w.tokenTypeEmbeddings();
        this.embeddingNorm = w.embeddingNorm();
        this.layers = List.copyOf(w.layers());
        this.onnxInitializers = Collections.unmodifiableMap(new LinkedHashMap<>(w.initializers()));
        List<LinearTarget> list = new ArrayList<>();
        addMatrix("embeddings.word_embeddings.weight", wordEmbeddings);
        addMatrix("embeddings.position_embeddings.weight", positionEmbeddings);
        addMatrix("embeddings.token_type_embeddings.weight", tokenTypeEmbeddings);
        addNorm(embeddingNorm);
        for (BertLayer layer : layers) {
            for (Linear linear : layer.linears()) {
                list.add(linear.target);
                linearsByName.put(linear.target.name(), linear);
                addMatrix(linear.target.weightName(), linear.weight);
                addVector(linear.target.biasName(), linear.bias);
                if (linear == layer.attentionOutput) {
                    addNorm(layer.attentionNorm);
                } else if (linear == layer.ffnOut) {
                    addNorm(layer.outputNorm);
                }
            }
        }
        this.targets = List.copyOf(list);
    }

    /**
     * Reads an encoder from a serialized ONNX model.
     *
     * @param source names the model in error messages
     * @throws UnsupportedModelException if the graph uses other ops than {@link #SUPPORTED_OPS} (named in the
     *                                   message) or is not structured as a BERT encoder
     * @throws CorruptFileException      if the bytes are not an ONNX model
     */
    public static BertEncoder read(InputStream onnx, String source) {
        OnnxGraph graph = OnnxGraph.read(onnx, source);
        return new BertEncoder(source, BertGraphReader.read(graph), graph.opCounts());
    }

    /** Reads an encoder from a parsed ONNX model; see {@link #read(InputStream, String)}. */
    static BertEncoder of(Onnx.ModelProto model, String source) {
        OnnxGraph graph = OnnxGraph.of(model, source);
        return new BertEncoder(source, BertGraphReader.read(graph), graph.opCounts());
    }

    /** Reads an encoder from an {@code .onnx} file; see {@link #read(InputStream, String)}. */
    public static BertEncoder read(Path onnx) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(onnx), 1 << 20)) {
            return read(in, onnx.toString());
        } catch (NoSuchFileException e) {
            throw new CorruptFileException(onnx + ": no such ONNX file");
        } catch (IOException e) {
            throw new CorruptFileException(onnx + ": cannot read: " + e.getMessage(), e);
        }
    }

    public String source() {
        return source;
    }

    public BertConfig config() {
        return config;
    }

    /** The op types of the source graph with their node counts. */
    public SortedMap<String, Integer> onnxOps() {
        return onnxOps;
    }

    /** The dense layers in execution order: per layer query, key, value, attention output, FFN in, FFN out. */
    public List<LinearTarget> targets() {
        return targets;
    }

    /** The target called {@code name} (e.g. {@code encoder.layer.0.attention.self.query}). */
    public LinearTarget target(String name) {
        return linear(name).target;
    }

    /** A copy of the target's weight, {@code [out, in]}. */
    public INDArray weight(String target) {
        return linear(target).weight.dup('c');
    }

    /**
     * Replaces the target's weight (e.g. by its quantized-then-dequantized version).
     *
     * @param weight {@code [out, in]}, finite; copied (float32)
     * @throws InvalidTensorException naming the target if the shape is wrong or a value is not finite
     */
    public void setWeight(String target, INDArray weight) {
        setParameter(linear(target).target.weightName(), weight);
    }

    /** PyTorch {@code state_dict} names of every parameter, in model order. */
    public List<String> parameterNames() {
        return List.copyOf(parameters.keySet());
    }

    /**
     * The ONNX initializer each parameter was read from ({@link #parameterNames()} -> initializer name), so a
     * writer can put new values back into the same graph. A dense weight's initializer is the MatMul operand
     * {@code [in, out]}, the transpose of {@link #weight}; every other parameter has the same values in both.
     */
    public Map<String, String> onnxInitializers() {
        return onnxInitializers;
    }

    /**
     * A copy of a parameter in PyTorch shape: dense weights {@code [out, in]}, biases and LayerNorm
     * weight/bias {@code [width]}, embedding tables {@code [rows, hidden]}.
     */
    public INDArray parameter(String name) {
        Parameter p = parameter0(name);
        return p.live.dup('c').reshape('c', p.shape);
    }

    /**
     * Overwrites a parameter.
     *
     * @throws InvalidTensorException naming the parameter if the shape differs from {@link #parameter}'s
     *                                or a value is NaN or infinite
     */
    public void setParameter(String name, INDArray value) {
        Parameter p = parameter0(name);
        if (value == null || !Arrays.equals(value.shape(), p.shape)) {
            throw new InvalidTensorException(source + ": parameter '" + name + "' has shape " + Arrays.toString(p.shape)
                    + ", the new value has " + (value == null ? "none" : Arrays.toString(value.shape())));
        }
        INDArray v = value.castTo(DataType.FLOAT);
        if (v.isInfinite().any() || v.isNaN().any()) {
            throw new InvalidTensorException(source + ": the new value of '" + name + "' holds NaN or infinite entries");
        }
        p.live.assign(v.reshape('c', p.live.shape()));
    }

    /** {@code last_hidden_state [batch, seq, hidden]}. */
    public INDArray forward(TokenBatch batch) {
        return forward(batch, null);
    }

    /**
     * {@code last_hidden_state [batch, seq, hidden]}, handing the inputs of the targets the hook wants to it.
     *
     * @throws ModelInputException if the batch is longer than the position table, or holds a token id or
     *                             token-type id outside the model's tables
     */
    public INDArray forward(TokenBatch batch, ActivationHook hook) {
        return run(batch, hook, layers.size() - 1)
                .reshape('c', batch.batchSize(), batch.sequenceLength(), config.hiddenSize());
    }

    /**
     * The input rows of {@code target} for the tokens under the mask, {@code [tokens, in]}; runs the
     * encoder only up to the target's layer.
     */
    public INDArray captureInputs(TokenBatch batch, String target) {
        LinearTarget wanted = target(target);
        INDArray[] captured = new INDArray[1];
        run(batch, new ActivationHook() {
            @Override
            public boolean wants(LinearTarget t) {
                return t.equals(wanted);
            }

            @Override
            public void accept(LinearTarget t, INDArray rows) {
                captured[0] = rows;
            }
        }, wanted.layer());
        return captured[0];
    }

    /** Number of encoder layers. */
    public int layerCount() {
        return layers.size();
    }

    /**
     * The embeddings' output (word + token type + position, LayerNorm), the first layer's input, as hidden
     * states {@code [batch·seq, hidden]} (padding positions included). With {@link #layerForward} this runs
     * the encoder one layer at a time, e.g. to keep every layer's calibration states for layer-by-layer
     * quantization.
     *
     * @throws ModelInputException as {@link #forward(TokenBatch, ActivationHook)}
     */
    public INDArray embeddings(TokenBatch batch) {
        checkBatch(batch);
        INDArray x = Nd4j.createUninitialized(DataType.FLOAT, (long) batch.batchSize() * batch.sequenceLength(),
                config.hiddenSize());
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(SCRATCH, SCRATCH_ID)) {
            embeddings(batch, x);
        }
        return x;
    }

    /**
     * Runs encoder layer {@code layer} on hidden states {@code [batch·seq, hidden]} of {@code batch} (the
     * output of {@link #embeddings} or of the previous layer; not modified) and returns its output, a new
     * array of the same shape; the hook (may be null) receives the inputs of the layer's targets.
     *
     * @throws ModelInputException if {@code layer} is out of range or the hidden states do not match the batch
     */
    public INDArray layerForward(int layer, INDArray hidden, TokenBatch batch, ActivationHook hook) {
        BertLayer l = layer0(layer, hidden, batch);
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, hidden.rows(), config.hiddenSize());
        BertLayer.Pass pass = new BertLayer.Pass(config, batch, hook);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(SCRATCH, SCRATCH_ID)) {
            l.forward(contiguous(hidden), out, pass);
        }
        return out;
    }

    /**
     * Runs encoder layer {@code layer} only as far as the input of its target of role {@code last}, handing
     * the inputs of the targets up to it to the hook (e.g. the input of {@code FFN_IN} as computed with the
     * current attention weights).
     *
     * @throws ModelInputException as {@link #layerForward}
     */
    public void layerInputs(int layer, INDArray hidden, TokenBatch batch, ActivationHook hook, LinearRole last) {
        BertLayer l = layer0(layer, hidden, batch);
        BertLayer.Pass pass = new BertLayer.Pass(config, batch, hook);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(SCRATCH, SCRATCH_ID)) {
            l.forward(contiguous(hidden), null, pass, java.util.Objects.requireNonNull(last, "last"));
        }
    }

    /**
     * The output of layer {@code layer}'s {@code attention.output.dense} (before its residual and LayerNorm)
     * on hidden states {@code [batch·seq, hidden]}, computed with the given query, key and value weights
     * ({@code [hidden, hidden]}, PyTorch layout) instead of the layer's own; the layer's biases and its
     * attention output weight are used as they are. Returns {@code [batch·seq, hidden]}, padding rows included.
     *
     * @throws ModelInputException as {@link #layerForward}, or if a weight is not {@code [hidden, hidden]}
     */
    public INDArray attentionOutput(int layer, INDArray hidden, TokenBatch batch, INDArray query, INDArray key,
                                    INDArray value) {
        BertLayer l = layer0(layer, hidden, batch);
        long h = config.hiddenSize();
        for (INDArray w : new INDArray[] {query, key, value}) {
            if (w.rank() != 2 || w.size(0) != h || w.size(1) != h) {
                throw new ModelInputException(source + ": layer " + layer + ": Q/K/V weights must be [" + h + ", " + h
                        + "], got " + Arrays.toString(w.shape()));
            }
        }
        BertLayer.Pass pass = new BertLayer.Pass(config, batch, null);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(SCRATCH, SCRATCH_ID)) {
            return l.attentionProjection(contiguous(hidden), pass, contiguous(query), contiguous(key), contiguous(value))
                    .detach();
        }
    }

    private BertLayer layer0(int layer, INDArray hidden, TokenBatch batch) {
        if (layer < 0 || layer >= layers.size()) {
            throw new ModelInputException(source + " has layers 0.." + (layers.size() - 1) + ", not " + layer);
        }
        checkBatch(batch);
        long rows = (long) batch.batchSize() * batch.sequenceLength();
        if (hidden.rank() != 2 || hidden.rows() != rows || hidden.columns() != config.hiddenSize()) {
            throw new ModelInputException(source + ": layer " + layer + " takes hidden states [" + rows + ", "
                    + config.hiddenSize() + "] for " + batch + ", got " + Arrays.toString(hidden.shape()));
        }
        return layers.get(layer);
    }

    private static INDArray contiguous(INDArray a) {
        return a.dataType() == DataType.FLOAT && a.ordering() == 'c' && a.elementWiseStride() == 1 && !a.isView()
                ? a : a.castTo(DataType.FLOAT).dup('c');
    }

    /** Sentence embeddings as sentence-transformers computes them: mean pooling over the mask, L2 norm. */
    public INDArray embed(TokenBatch batch) {
        return embed(batch, Pooling.MEAN);
    }

    /** Sentence embeddings {@code [batch, hidden]} pooled as {@code pooling} says. */
    public INDArray embed(TokenBatch batch, Pooling pooling) {
        return SentencePooling.pool(forward(batch), batch, pooling);
    }

    /**
     * @throws ModelInputException if the tokenizer's vocabulary is not the size of the word embedding (a
     *                             tokenizer made for another model)
     */
    public void checkTokenizer(WordPieceTokenizer tokenizer) {
        if (tokenizer.vocabSize() != config.vocabSize()) {
            throw new ModelInputException("tokenizer " + tokenizer.source() + " has " + tokenizer.vocabSize()
                    + " tokens but model " + source + " has " + config.vocabSize()
                    + " word embeddings: they do not belong together");
        }
    }

    /**
     * Each layer's intermediates (scores, FFN activations: tens of MB per batch) live in an ND4J workspace
     * reused from layer to layer and call to call, so they cost no fresh allocation (page faults) after the
     * first batch; the hidden states alternate between two arrays outside it.
     */
    private INDArray run(TokenBatch batch, ActivationHook hook, int lastLayer) {
        checkBatch(batch);
        BertLayer.Pass pass = new BertLayer.Pass(config, batch, hook);
        long tokens = (long) batch.batchSize() * batch.sequenceLength();
        INDArray x = Nd4j.createUninitialized(DataType.FLOAT, tokens, config.hiddenSize());
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(SCRATCH, SCRATCH_ID)) {
            embeddings(batch, x);
        }
        INDArray spare = Nd4j.createUninitialized(DataType.FLOAT, tokens, config.hiddenSize());
        for (int i = 0; i <= lastLayer; i++) {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(SCRATCH, SCRATCH_ID)) {
                layers.get(i).forward(x, spare, pass);
            }
            INDArray swap = x;
            x = spare;
            spare = swap;
        }
        return x;
    }

    /** Writes {@code LayerNorm(word[id] + type[typeId] + position[t])}, {@code [batch·seq, hidden]}, into out. */
    private void embeddings(TokenBatch batch, INDArray out) {
        int seq = batch.sequenceLength();
        int[] positions = new int[batch.batchSize() * seq];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i % seq;
        }
        INDArray x = Nd4j.pullRows(wordEmbeddings, 1, batch.inputIds());
        x.addi(Nd4j.pullRows(tokenTypeEmbeddings, 1, batch.tokenTypeIds()));
        x.addi(Nd4j.pullRows(positionEmbeddings, 1, positions));
        embeddingNorm.apply(x, null, out);
    }

    private void checkBatch(TokenBatch batch) {
        if (batch.sequenceLength() > config.maxPositions()) {
            throw new ModelInputException("the batch's sequences are " + batch.sequenceLength() + " tokens long but "
                    + source + " has " + config.maxPositions() + " positions; truncate them (e.g. "
                    + "WordPieceTokenizer.withTruncation(" + config.maxPositions() + "))");
        }
        checkIds("token id", batch.inputIds(), config.vocabSize(), batch.sequenceLength());
        checkIds("token-type id", batch.tokenTypeIds(), config.typeVocabSize(), batch.sequenceLength());
    }

    private void checkIds(String what, int[] ids, int limit, int seq) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= limit) {
                throw new ModelInputException(what + " " + ids[i] + " at [" + i / seq + ", " + i % seq + "] is outside "
                        + source + "'s table of " + limit + " rows (tokenizer/model mismatch?)");
            }
        }
    }

    private Linear linear(String name) {
        Linear l = linearsByName.get(name);
        if (l == null) {
            throw new ModelInputException(source + " has no quantization target '" + name + "'; targets are "
                    + "encoder.layer.<0.." + (layers.size() - 1) + ">.{attention.self.query, attention.self.key, "
                    + "attention.self.value, attention.output.dense, intermediate.dense, output.dense}");
        }
        return l;
    }

    private Parameter parameter0(String name) {
        Parameter p = parameters.get(name);
        if (p == null) {
            throw new ModelInputException(source + " has no parameter '" + name + "' (see parameterNames())");
        }
        return p;
    }

    private void addMatrix(String name, INDArray live) {
        parameters.put(name, new Parameter(live, live.shape()));
    }

    private void addVector(String name, INDArray live) {
        parameters.put(name, new Parameter(live, new long[]{live.length()}));
    }

    private void addNorm(LayerNorm norm) {
        addVector(norm.name + ".weight", norm.gamma);
        addVector(norm.name + ".bias", norm.beta);
    }

    /** A live parameter array and its PyTorch shape. */
    private record Parameter(INDArray live, long[] shape) {
    }
}
