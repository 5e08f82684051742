package org.quant4j.examples.minilm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.BertQuantizedWeights;
import org.quant4j.model.bert.EmbeddingFidelity;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.OnnxQuantizedWeights;
import org.quant4j.model.bert.OnnxRuntimeEncoder;
import org.quant4j.model.bert.Padding;
import org.quant4j.model.bert.WordPieceTokenizer;

/**
 * Measures how faithfully quantized all-MiniLM-L6-v2 models reproduce the fp32 sentence embeddings of a fixed
 * set of evaluation sentences ({@link EmbeddingFidelity}): the fp32 embeddings are computed once, here; each
 * quantized model is loaded from its model file into one scratch encoder ({@link BertQuantizedWeights}, which
 * sets every parameter) and embeds the same sentences. The peer to beat, ONNX Runtime's own dynamic-int8
 * export, runs through {@link OnnxRuntimeEncoder} with the same tokenizer, mean pooling and normalisation.
 */
public final class MiniLmEvaluation {
    /** The source model's name, as in the model files' metadata. */
    public static final String MODEL_NAME = "all-MiniLM-L6-v2";

    private final MiniLm fp32;
    private MiniLm scratch;
    private final List<String> sentences;
    private final INDArray fp32Embeddings;
    private final EmbeddingFidelity.Reference reference;

    private MiniLmEvaluation(MiniLm fp32, List<String> sentences, INDArray fp32Embeddings) {
        this.fp32 = fp32;
        this.sentences = List.copyOf(sentences);
        this.fp32Embeddings = fp32Embeddings;
        this.reference = EmbeddingFidelity.reference(fp32Embeddings);
    }

    /** Loads the fp32 model and embeds the sentences with it. */
    public static MiniLmEvaluation prepare(List<String> sentences) {
        MiniLm fp32 = MiniLm.load();
        return new MiniLmEvaluation(fp32, sentences, fp32.embed(sentences));
    }

    /** The encoder quantized weights are loaded into (a second copy of the model, read on first use). */
    private MiniLm scratch() {
        if (scratch == null) {
            scratch = MiniLm.load();
        }
        return scratch;
    }

    public List<String> sentences() {
        return sentences;
    }

    /** The fp32 model (not modified by this class). */
    public MiniLm fp32() {
        return fp32;
    }

    /** The fp32 row: the reference compared with itself (cosine 1, agreement 1 by construction), its .onnx size. */
    public MiniLmEvalRow fp32Row() {
        EmbeddingFidelity.Result r = reference.compare(fp32Embeddings);
        long bytes = MiniLm.readAllBytes(MiniLm.ONNX_RESOURCE).length;
        return new MiniLmEvalRow("fp32", "fp32", 32, bytes, r.meanCosine(), r.minCosine(), r.top1Agreement(), Double.NaN,
                "the reference (" + MiniLm.ONNX_RESOURCE + ")");
    }

    /**
     * ONNX Runtime's int8 model ({@link MiniLm#INT8_ONNX_RESOURCE}): bits per weight counted from its graph over
     * its 36 {@code MatMulInteger} weights ({@link OnnxQuantizedWeights}); model bytes are the .onnx size, which
     * also holds uint8 embedding tables (ours keep them fp32).
     *
     * @param threads ONNX Runtime intra-op threads
     */
    public MiniLmEvalRow ortInt8Row(int threads) {
        byte[] onnx = MiniLm.readAllBytes(MiniLm.INT8_ONNX_RESOURCE);
        OnnxQuantizedWeights census = OnnxQuantizedWeights.count(onnx, MiniLm.INT8_ONNX_RESOURCE);
        INDArray embeddings;
        try (OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(onnx, MiniLm.INT8_ONNX_RESOURCE, threads)) {
            embeddings = embed(ort, fp32.tokenizer(), sentences);
        }
        EmbeddingFidelity.Result r = reference.compare(embeddings);
        return new MiniLmEvalRow("ort-int8", "int8 per column (ORT dynamic)", census.matMulBitsPerWeight(),
                census.fileBytes(), r.meanCosine(), r.minCosine(), r.top1Agreement(), Double.NaN,
                String.format(Locale.ROOT, "%d MatMulInteger weights; embeddings uint8 per tensor (%,d bytes) "
                        + "and activations int8 per tensor at run time", census.matMulWeights(), census.embeddingBytes()));
    }

    /**
     * A quantized model (as read from its file) loaded into the scratch encoder and compared to fp32.
     *
     * @param modelBytes   the model file's size
     * @param quantSeconds the quantization's wall time, NaN when unknown
     */
    public MiniLmEvalRow quantizedRow(QuantizedModel model, long modelBytes, double quantSeconds) {
        BertQuantizedWeights.apply(model, scratch().encoder());
        return loadedRow(scratch(), model, modelBytes, quantSeconds);
    }

    /**
     * The row of {@code loaded}, a model that already carries the weights of {@code stored} (e.g. a fresh model
     * after {@link BertQuantizedWeights#apply}); {@code stored} gives the method, format and bits per weight.
     */
    public MiniLmEvalRow loadedRow(MiniLm loaded, QuantizedModel model, long modelBytes, double quantSeconds) {
        EmbeddingFidelity.Result r = reference.compare(loaded.embed(sentences));
        String method = model.metadata().getOrDefault("method", "?")
                + (Boolean.parseBoolean(model.metadata().get("biasCorrection")) ? " + bias correction" : "");
        return new MiniLmEvalRow(method, describe(model), targetBitsPerWeight(model), modelBytes, r.meanCosine(),
                r.minCosine(), r.top1Agreement(), quantSeconds, model.metadata().getOrDefault("note", ""));
    }

    /**
     * Restores the scratch encoder to the fp32 weights and returns its model, for a quantizer that works in place;
     * {@link #quantizedRow} later overwrites every parameter again from the model file.
     */
    public MiniLm freshFp32Copy() {
        BertEncoder from = fp32.encoder();
        BertEncoder to = scratch().encoder();
        for (String name : from.parameterNames()) {
            to.setParameter(name, from.parameter(name));
        }
        return scratch;
    }

    /** Stored bits per weight of the dense-layer targets: quantized and CLAQ tensors plus AWQ input scales. */
    public static double targetBitsPerWeight(QuantizedModel model) {
        long bytes = 0;
        long elements = 0;
        for (QuantizedTensor q : model.quantizedTensors().values()) {
            bytes += q.storageBytes();
            elements += q.size();
        }
        for (ClaqTensor c : model.claqTensors().values()) {
            bytes += c.storageBytes();
            elements += c.size();
        }
        for (Map.Entry<String, FloatTensor> f : model.floatTensors().entrySet()) {
            if (f.getKey().endsWith(BertQuantizedWeights.INPUT_SCALE_SUFFIX)) {
                bytes += 4 * f.getValue().size();
            }
        }
        return elements == 0 ? Double.NaN : bytes * 8.0 / elements;
    }

    /**
     * The weight format of a model's targets: the QuantSpec short names used (e.g. {@code int4-asym-g128}), or for
     * CLAQ the average code width of its columns and its outlier share.
     */
    public static String describe(QuantizedModel model) {
        List<String> names = new ArrayList<>();
        for (QuantizedTensor q : model.quantizedTensors().values()) {
            String n = q.spec().shortName();
            if (!names.contains(n)) {
                names.add(n);
            }
        }
        if (!model.claqTensors().isEmpty()) {
            double bits = 0;
            long outliers = 0;
            long elements = 0;
            for (ClaqTensor c : model.claqTensors().values()) {
                bits += c.averageCodeBits() * c.size();
                outliers += c.outlierCount();
                elements += c.size();
            }
            names.add(String.format(Locale.ROOT, "claq %.2f-bit codes, %.2f%% outliers", bits / elements,
                    100.0 * outliers / elements));
        }
        return String.join(" + ", names);
    }

    /** ONNX Runtime embeddings of the sentences, batched like {@link MiniLm#embed} (by length, batch-longest padding). */
    static INDArray embed(OnnxRuntimeEncoder ort, WordPieceTokenizer tokenizer, List<String> sentences) {
        WordPieceTokenizer batchLongest = tokenizer.withPadding(Padding.batchLongest());
        int n = sentences.size();
        int[] lengths = new int[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            lengths[i] = batchLongest.encode(sentences.get(i)).length;
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> lengths[a] != lengths[b] ? Integer.compare(lengths[a], lengths[b])
                : Integer.compare(a, b));
        INDArray out = null;
        for (int from = 0; from < n; from += MiniLm.BATCH_SIZE) {
            int to = Math.min(n, from + MiniLm.BATCH_SIZE);
            List<String> chunk = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                chunk.add(sentences.get(order[i]));
            }
            INDArray embedded = ort.embed(batchLongest.encodeBatch(chunk));
            if (out == null) {
                out = Nd4j.create(DataType.FLOAT, n, embedded.size(1));
            }
            for (int i = from; i < to; i++) {
                out.putRow(order[i], embedded.getRow(i - from));
            }
        }
        return out;
    }
}
