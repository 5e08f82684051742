package org.quant4j.eval.encoder;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.nd4j.linalg.api.ndarray.INDArray;
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
import org.quant4j.model.bert.SentenceEncoder;

/**
 * Measures how faithfully quantized models of a sentence encoder reproduce its fp32 sentence embeddings of a fixed
 * set of evaluation sentences ({@link EmbeddingFidelity}): the fp32 embeddings are computed once, here; each
 * quantized model is loaded from its model file into one scratch copy of the encoder ({@link BertQuantizedWeights},
 * which sets every parameter) and embeds the same sentences. A peer, such as ONNX Runtime's own dynamic-int8 export
 * of all-MiniLM-L6-v2, runs through ONNX Runtime with the same tokenizer, batching and pooling head
 * ({@link SentenceEncoder#embedWithOnnxRuntime}).
 */
public final class EncoderEvaluation {
    private final String modelName;
    private final Supplier<SentenceEncoder> loader;
    private final SentenceEncoder fp32;
    private SentenceEncoder scratch;
    private final List<String> sentences;
    private final INDArray fp32Embeddings;
    private final EmbeddingFidelity.Reference reference;

    private EncoderEvaluation(String modelName, Supplier<SentenceEncoder> loader, SentenceEncoder fp32,
                              List<String> sentences) {
        this.modelName = modelName;
        this.loader = loader;
        this.fp32 = fp32;
        this.sentences = List.copyOf(sentences);
        this.fp32Embeddings = fp32.embed(sentences);
        this.reference = EmbeddingFidelity.reference(fp32Embeddings);
    }

    /**
     * Loads the fp32 model and embeds the sentences with it.
     *
     * @param modelName as in the reports (e.g. {@code all-MiniLM-L6-v2})
     * @param loader    reads the encoder from its files; called again, once, for the scratch copy
     */
    public static EncoderEvaluation prepare(String modelName, Supplier<SentenceEncoder> loader, List<String> sentences) {
        return new EncoderEvaluation(modelName, loader, loader.get(), sentences);
    }

    /** The built-in all-MiniLM-L6-v2 ({@link MiniLm}). */
    public static EncoderEvaluation miniLm(List<String> sentences) {
        return prepare(MiniLm.NAME, () -> MiniLm.load().sentenceEncoder(), sentences);
    }

    /** The encoder quantized weights are loaded into (a second copy of the model, read on first use). */
    private SentenceEncoder scratch() {
        if (scratch == null) {
            scratch = loader.get();
        }
        return scratch;
    }

    public String modelName() {
        return modelName;
    }

    public List<String> sentences() {
        return sentences;
    }

    /** The fp32 model (not modified by this class). */
    public SentenceEncoder fp32() {
        return fp32;
    }

    /** The fp32 row: the reference compared with itself (cosine 1, agreement 1 by construction), its .onnx size. */
    public EncoderEvalRow fp32Row() {
        EmbeddingFidelity.Result r = reference.compare(fp32Embeddings);
        return new EncoderEvalRow("fp32", "fp32", 32, fp32.onnxFile().length, r.meanCosine(), r.minCosine(),
                r.top1Agreement(), Double.NaN, "the reference (" + fp32.encoder().source() + ")");
    }

    /**
     * An ONNX export of the same model run by ONNX Runtime: ONNX Runtime's own int8 export (e.g.
     * {@link MiniLm#INT8_ONNX_RESOURCE}, row {@code ort-int8}) or any other quantized export, such as quant4j's
     * {@code quant4j export --format onnx} (row {@code onnx}). Bits per weight are counted from its graph over its
     * quantized dense weights ({@link OnnxQuantizedWeights}: MatMulInteger, MatMulNBits, DequantizeLinear); model
     * bytes are the .onnx size, which also holds its embedding tables (quantized or not).
     *
     * @param threads ONNX Runtime intra-op threads
     */
    public EncoderEvalRow ortInt8Row(byte[] onnx, String source, int threads) {
        OnnxQuantizedWeights census = OnnxQuantizedWeights.count(onnx, source);
        EmbeddingFidelity.Result r = reference.compare(fp32.embedWithOnnxRuntime(onnx, source, sentences, threads));
        if (!census.weightOps().containsKey("MatMulInteger")) {
            return new EncoderEvalRow("onnx", "ONNX export " + census.weightOps(), census.matMulBitsPerWeight(),
                    census.fileBytes(), r.meanCosine(), r.minCosine(), r.top1Agreement(), Double.NaN,
                    String.format(Locale.ROOT, "%s: %d quantized dense weights; quantized embedding tables %,d bytes",
                            source, census.matMulWeights(), census.embeddingBytes()));
        }
        return new EncoderEvalRow("ort-int8", "int8 per column (ORT dynamic)", census.matMulBitsPerWeight(),
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
    public EncoderEvalRow quantizedRow(QuantizedModel model, long modelBytes, double quantSeconds) {
        BertQuantizedWeights.apply(model, scratch().encoder());
        return loadedRow(scratch(), model, modelBytes, quantSeconds);
    }

    /**
     * The row of {@code loaded}, an encoder that already carries the weights of {@code model} (e.g. a fresh copy
     * after {@link BertQuantizedWeights#apply}); {@code model} gives the method, format and bits per weight.
     */
    public EncoderEvalRow loadedRow(SentenceEncoder loaded, QuantizedModel model, long modelBytes, double quantSeconds) {
        EmbeddingFidelity.Result r = reference.compare(loaded.embed(sentences));
        String method = model.metadata().getOrDefault("method", "?")
                + (Boolean.parseBoolean(model.metadata().get("biasCorrection")) ? " + bias correction" : "");
        return new EncoderEvalRow(method, describe(model), targetBitsPerWeight(model), modelBytes, r.meanCosine(),
                r.minCosine(), r.top1Agreement(), quantSeconds, model.metadata().getOrDefault("note", ""));
    }

    /**
     * Restores the scratch encoder to the fp32 weights and returns it, for a quantizer that works in place;
     * {@link #quantizedRow} later overwrites every parameter again from the model file.
     */
    public SentenceEncoder freshFp32Copy() {
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
}
