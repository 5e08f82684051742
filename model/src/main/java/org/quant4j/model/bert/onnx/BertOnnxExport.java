package org.quant4j.model.bert.onnx;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.AtomicFileWriter;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.BertQuantizedWeights;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.model.bert.OnnxRuntimeAgreement;
import org.quant4j.model.bert.SentenceEncoder;
import org.quant4j.model.onnx.QuantizedTable;
import org.quant4j.model.onnx.OnnxExportException;
import org.quant4j.model.onnx.OnnxGraphEditor;
import org.quant4j.model.onnx.QuantizedMatMul;

/**
 * Writes a quantized BERT-family sentence encoder as an ONNX file that ONNX Runtime runs, with the quantized
 * weights as they are stored: the encoder's own fp32 export ({@link SentenceEncoder#onnxFile()}) is rewritten,
 * each target's MatMul taking its {@link QuantizedTensor} ({@link QuantizedMatMul}: {@code MatMulNBits} for INT
 * groups, act-order ones on reordered inputs; {@code DequantizeLinear} for INT per channel; AWQ input scales as a
 * {@code Div} of the input), every
 * other parameter taking the model file's float value (bias correction and folded AWQ scales change biases and
 * LayerNorm weights), and, when asked, the word and position embedding tables quantized here and looked up by
 * {@code GatherBlockQuantized}. LayerNorm, attention, GELU and the other tables stay as they are.
 *
 * <p>The export is checked before anything is written: ONNX Runtime runs the new graph on
 * {@link SentenceEncoder#CHECK_SENTENCES} and its {@code last_hidden_state} and pooled embeddings are compared with
 * our own forward of the dequantized model (a fresh encoder read from the same file,
 * {@link BertQuantizedWeights#apply}, and the same embedding quantization); a difference above the tolerance is
 * an error. CLAQ tensors (per-column codebooks with sparse outliers) have no ONNX Runtime kernel and are refused.
 * Every refusal is one {@link OnnxExportException} naming the tensor, and no file is written.
 */
public final class BertOnnxExport {
    /**
     * Default bound on max |ONNX Runtime − ours| of {@code last_hidden_state}: fp32 rounding of a different
     * summation order, measured at 1e-5..3e-5 on all-MiniLM-L6-v2 (docs/onnx-export.md).
     */
    public static final double DEFAULT_TOLERANCE = 1e-4;
    /** The tables {@link Options#embeddings()} quantizes (the token-type table, 2 rows in BERT, stays fp32). */
    public static final List<String> EMBEDDING_TABLES = List.of("embeddings.word_embeddings.weight",
            "embeddings.position_embeddings.weight");

    private BertOnnxExport() {
    }

    /**
     * @param embeddings    the spec of the word and position tables (see {@link #embeddingSpec(String)}), or null to keep
     *                      them fp32
     * @param accuracyLevel MatMulNBits' {@code accuracy_level}: 0 keeps fp32 products (see MatMulNBitsWeight)
     * @param tolerance     bound on the check's max abs difference of {@code last_hidden_state}
     * @param threads       ONNX Runtime's intra-op threads for the check
     * @param groupIndex    write GPTQ act-order tensors with MatMulNBits' {@code g_idx} rather than reordered
     *                      inputs (see {@link QuantizedMatMul})
     */
    public record Options(QuantSpec embeddings, int accuracyLevel, double tolerance, int threads, boolean groupIndex) {
        public static Options defaults() {
            return new Options(null, 0, DEFAULT_TOLERANCE, 2, false);
        }

        public Options withEmbeddings(QuantSpec spec) {
            return new Options(spec, accuracyLevel, tolerance, threads, groupIndex);
        }

        public Options withTolerance(double bound) {
            return new Options(embeddings, accuracyLevel, bound, threads, groupIndex);
        }

        public Options withGroupIndex(boolean gIdx) {
            return new Options(embeddings, accuracyLevel, tolerance, threads, gIdx);
        }
    }

    /**
     * The written graph and what was done.
     *
     * @param onnx             the serialized model
     * @param matMulNBits      targets written as MatMulNBits
     * @param dequantizeLinear targets written as DequantizeLinear → MatMul
     * @param inputScales      AWQ input scales written as a Div
     * @param embeddings       the embedding tables' spec, or null when they stayed fp32
     * @param check            ONNX Runtime on the written graph vs our forward of the dequantized model
     */
    public record Exported(byte[] onnx, int matMulNBits, int dequantizeLinear, int inputScales, QuantSpec embeddings,
                           OnnxRuntimeAgreement check) {
        @Override
        public String toString() {
            return onnx.length + " bytes: " + matMulNBits + " MatMulNBits, " + dequantizeLinear + " DequantizeLinear, "
                    + inputScales + " input scales, embeddings " + (embeddings == null ? "fp32" : embeddings);
        }
    }

    /** The names {@link #embeddingSpec(String)} takes. */
    public static final List<String> EMBEDDING_SPECS = List.of("int8", "int8-tensor", "int4", "int4-asym");

    /**
     * The embedding specs by name, all with FP32 scales (ONNX stores float scales anyway): {@code int8} symmetric
     * in blocks of 128, {@code int8-tensor} asymmetric with one scale and zero point per table (as ONNX Runtime's
     * own int8 export), {@code int4} symmetric and {@code int4-asym} asymmetric in blocks of 32.
     *
     * @throws OnnxExportException for another name
     */
    public static QuantSpec embeddingSpec(String name) {
        QuantSpec.Builder b = QuantSpec.builder().scaleEncoding(NumberEncoding.FP32);
        return switch (name) {
            case "int8" -> b.bits(8).groupSize(128).build();
            case "int8-tensor" -> b.bits(8).asymmetric().perTensor().build();
            case "int4" -> b.bits(4).groupSize(32).build();
            case "int4-asym" -> b.bits(4).asymmetric().groupSize(32).build();
            default -> throw new OnnxExportException("embedding spec '" + name + "': expected one of " + EMBEDDING_SPECS);
        };
    }

    /** Exports and writes atomically (temporary file, then a move); nothing is written if any step fails. */
    public static Exported write(SentenceEncoder encoder, QuantizedModel model, Path out, Options options)
            throws IOException {
        Exported exported = export(encoder, model, options);
        AtomicFileWriter.write(out, UnaryOperator.identity(), stream -> stream.write(exported.onnx()));
        return exported;
    }

    /**
     * Rewrites {@code encoder}'s ONNX file with {@code model}'s weights and checks it with ONNX Runtime.
     *
     * @param encoder the fp32 encoder the model was quantized from (its ONNX file, tokenizer and pooling)
     * @throws OnnxExportException                          naming the tensor for a CLAQ tensor, a spec ONNX Runtime
     *                                                      cannot run, or a check above the tolerance
     * @throws org.quant4j.core.InvalidTensorException     when the model does not fit the encoder (named)
     */
    public static Exported export(SentenceEncoder encoder, QuantizedModel model, Options options) {
        refuseClaq(model);
        QuantSpec embeddingSpec = options.embeddings();
        if (embeddingSpec != null) {
            QuantizedTable.check(EMBEDDING_TABLES.get(0), embeddingSpec);
        }
        for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
            QuantizedMatMul.plan(e.getKey(), e.getValue(), options.groupIndex());
        }
        byte[] original = encoder.onnxFile();
        String source = encoder.encoder().source();
        BertEncoder reference = BertEncoder.read(new ByteArrayInputStream(original), source);
        BertQuantizedWeights.apply(model, reference); // checks the whole model against the encoder
        Map<String, String> initializers = reference.onnxInitializers();
        requireDistinct(initializers, source);

        OnnxGraphEditor g = new OnnxGraphEditor(OnnxGraphEditor.parse(original, source), source);
        for (Map.Entry<String, FloatTensor> e : model.floatTensors().entrySet()) {
            String initializer = initializers.get(e.getKey());
            if (initializer != null) {
                g.setFloats(initializer, e.getValue().data());
            }
        }
        int nbits = 0;
        int dq = 0;
        int scales = 0;
        for (LinearTarget t : reference.targets()) {
            FloatTensor s = model.floatTensors().get(t.name() + BertQuantizedWeights.INPUT_SCALE_SUFFIX);
            QuantizedMatMul.Encoding enc = QuantizedMatMul.rewrite(g, initializers.get(t.weightName()), t.name(),
                    model.quantizedTensors().get(t.name()), s == null ? null : s.data(), options.accuracyLevel(),
                    options.groupIndex());
            nbits += enc == QuantizedMatMul.Encoding.MATMUL_NBITS ? 1 : 0;
            dq += enc == QuantizedMatMul.Encoding.DEQUANTIZE_LINEAR ? 1 : 0;
            scales += s == null ? 0 : 1;
        }
        for (String table : embeddingSpec == null ? List.<String>of() : EMBEDDING_TABLES) {
            QuantizedTensor q = Quantizer.quantize(table, reference.parameter(table), embeddingSpec);
            QuantizedTable.rewrite(g, initializers.get(table), q);
            reference.setParameter(table, q.dequantize());
        }
        byte[] written = g.build().toByteArray();
        SentenceEncoder checked = SentenceEncoder.of(encoder.tokenizer(), reference, encoder.pooling());
        OnnxRuntimeAgreement check = checked.onnxRuntimeAgreement(written, SentenceEncoder.CHECK_SENTENCES,
                options.threads());
        if (!(check.hiddenMaxAbsDiff() <= options.tolerance())) {
            throw new OnnxExportException(source + ": export check failed, ONNX Runtime on the written graph differs "
                    + "from our forward of the dequantized model by " + check.hiddenMaxAbsDiff()
                    + " (last_hidden_state max abs) > tolerance " + options.tolerance() + " (" + check + ")");
        }
        return new Exported(written, nbits, dq, scales, embeddingSpec, check);
    }

    private static void refuseClaq(QuantizedModel model) {
        if (!model.claqTensors().isEmpty()) {
            String name = model.claqTensors().keySet().iterator().next();
            throw new OnnxExportException("tensor '" + name + "' is CLAQ (per-column codebooks with sparse fp16 "
                    + "outliers): ONNX Runtime has no kernel for it; export an RTN, GPTQ, AWQ or HQQ model instead");
        }
    }

    /** Two parameters read from one initializer could not take different values: refuse such a graph. */
    private static void requireDistinct(Map<String, String> initializers, String source) {
        Map<String, String> seen = new HashMap<>();
        for (Map.Entry<String, String> e : initializers.entrySet()) {
            String other = seen.putIfAbsent(e.getValue(), e.getKey());
            if (other != null) {
                throw new OnnxExportException(source + ": initializer '" + e.getValue() + "' holds both '" + other
                        + "' and '" + e.getKey() + "'; the export needs one initializer per parameter");
            }
        }
    }
}
