package org.quant4j.core.io.gguf;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import java.util.Set;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Format;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;

/**
 * Exports a {@link QuantizedModel} to a GGUF file, and reads the floats back.
 *
 * <p>Each quantized tensor is converted {@linkplain ExactGgmlConversion exactly} where its grid is a ggml
 * block type (INT8 symmetric g32 → Q8_0, INT5/INT4 symmetric g32 → Q5_0/Q4_0, INT5/INT4 asymmetric g32 →
 * Q5_1/Q4_1 when every block's {@code m = -zero·scale} is an fp16 value), so the file dequantizes bit for bit as
 * {@link QuantizedTensor#dequantizeToArray()}. Any other tensor (other bits or group sizes, NF4, FP8,
 * FP4, ternary, CLAQ) is re-quantized from its dequantized floats only when the caller names a type with
 * {@link Options#requantize}; otherwise the export is refused with an {@link InvalidSpecException} naming
 * the tensor, its spec and the reason. fp32 tensors are written as {@link Options#floatTensors} (F32,
 * exact, by default). Everything is converted before the file is opened, and the file is written
 * atomically, so a refused or failed export leaves no file.
 *
 * <p>Metadata: {@code general.architecture} ("quant4j" unless given), {@code general.name},
 * {@code general.alignment}, {@code general.file_type} (llama.cpp's ftype) when all quantized weights have
 * one type, {@code general.quantization_version} 2 when a block type is used, and {@code quant4j.*}: the
 * source model, the model's metadata, and per tensor (parallel arrays) its name, source spec and conversion.
 * Tensors keep their names; shapes are written in ggml order ({@code [out, in]} → {@code ne = [in, out]}).
 */
public final class GgufExport {
    /** How a tensor reached its ggml type. */
    public enum Conversion { EXACT, REQUANTIZED, FLOAT }

    /** What was written for one tensor. */
    public record Entry(String name, GgmlType type, Conversion conversion, String source) {}

    private GgufExport() {}

    /** Export choices; immutable, each setter returns a copy. */
    public static final class Options {
        private final GgmlType requantize;
        private final GgmlType floatType;
        private final String architecture;
        private final String name;
        private final int alignment;
        private final Map<String, GgufValue> modelMetadata;
        private final UnaryOperator<String> weightName;
        private final Map<String, GgmlType> tensorTypes;
        private final int fileType;

        private Options(GgmlType requantize, GgmlType floatType, String architecture, String name, int alignment,
                        Map<String, GgufValue> modelMetadata, UnaryOperator<String> weightName,
                        Map<String, GgmlType> tensorTypes, int fileType) {
            this.requantize = requantize;
            this.floatType = floatType;
            this.architecture = architecture;
            this.name = name;
            this.alignment = alignment;
            this.modelMetadata = modelMetadata;
            this.weightName = weightName;
            this.tensorTypes = tensorTypes;
            this.fileType = fileType;
        }

        private Options(GgmlType requantize, GgmlType floatType, String architecture, String name, int alignment,
                        Map<String, GgufValue> modelMetadata, UnaryOperator<String> weightName) {
            this(requantize, floatType, architecture, name, alignment, modelMetadata, weightName, Map.of(), -1);
        }

        private Options(GgmlType requantize, GgmlType floatType, String architecture, String name, int alignment) {
            this(requantize, floatType, architecture, name, alignment, Map.of(), UnaryOperator.identity());
        }

        /**
         * The ggml type of each named tensor (GGUF names), e.g. a {@link QuantMix}'s choice: a quantized tensor whose
         * exact conversion is that type keeps it, any other is re-quantized to it, fp32 tensors are written in it;
         * tensors not named follow the other options. {@code fileType} is written as {@code general.file_type}.
         */
        public Options tensorTypes(Map<String, GgmlType> types, int fileType) {
            types.values().forEach(Options::codecType);
            return new Options(requantize, floatType, architecture, name, alignment, modelMetadata, weightName,
                    Map.copyOf(types), fileType);
        }

        /** Exact conversions only (others refused), fp32 tensors as F32, architecture "quant4j", alignment 32. */
        public static Options defaults() {
            return new Options(null, GgmlType.F32, "quant4j", null, GgufWriter.DEFAULT_ALIGNMENT);
        }

        /**
         * A whole model that a runtime such as llama.cpp runs: {@code metadata} (e.g. every key of the source GGUF:
         * architecture, hyper-parameters, tokenizer) is written as is, {@code general.architecture} and
         * {@code general.name} included; quantized and CLAQ tensors are written under {@code weightName(target)}
         * (e.g. {@code blk.0.attn_q} → {@code blk.0.attn_q.weight}); AWQ input scales, which such a runtime has no
         * place for, are refused.
         */
        public Options model(Map<String, GgufValue> metadata, UnaryOperator<String> weightName) {
            Map<String, GgufValue> m = new LinkedHashMap<>(metadata);
            for (String k : new String[]{"general.alignment", "general.file_type", "general.quantization_version"}) {
                m.remove(k);
            }
            GgufValue arch = m.get("general.architecture");
            String a = arch == null ? architecture : arch.asString();
            String n = m.containsKey("general.name") ? m.get("general.name").asString() : name;
            return new Options(requantize, floatType, a, n, alignment, Map.copyOf(m),
                    Objects.requireNonNull(weightName, "weightName"), tensorTypes, fileType);
        }

        /**
         * Re-quantizes every quantized or CLAQ tensor without an exact conversion from its dequantized floats
         * into {@code type} (Q8_0, Q5_0, Q5_1, Q4_0, Q4_1, Q2_K..Q6_K, IQ4_NL, IQ4_XS with ggml's reference rows; F16;
         * or F32, which keeps the dequantized floats exactly).
         */
        public Options requantize(GgmlType type) {
            return new Options(codecType(type), floatType, architecture, name, alignment, modelMetadata, weightName, tensorTypes, fileType);
        }

        /** The type of the fp32 tensors (biases, norms): F32 (exact, the default) or another codec type. */
        public Options floatTensors(GgmlType type) {
            return new Options(requantize, codecType(type), architecture, name, alignment, modelMetadata, weightName, tensorTypes, fileType);
        }

        public Options architecture(String architecture) {
            return new Options(requantize, floatType, Objects.requireNonNull(architecture, "architecture"), name,
                    alignment, modelMetadata, weightName, tensorTypes, fileType);
        }

        /** {@code general.name}; the model's source name by default. */
        public Options name(String name) {
            return new Options(requantize, floatType, architecture, Objects.requireNonNull(name, "name"), alignment,
                    modelMetadata, weightName, tensorTypes, fileType);
        }

        public Options alignment(int alignment) {
            return new Options(requantize, floatType, architecture, name, alignment, modelMetadata, weightName, tensorTypes, fileType);
        }

        public GgmlType requantizeType() { return requantize; }

        public GgmlType floatType() { return floatType; }

        private static GgmlType codecType(GgmlType type) {
            if (!Objects.requireNonNull(type, "type").hasCodec()) {
                throw new InvalidSpecException("GGUF export can write " + GgmlType.codecNames() + ", not " + type);
            }
            return type;
        }
    }

    /** Writes {@code model} to {@code target}; returns what was written per tensor. */
    public static List<Entry> write(QuantizedModel model, Path target, Options options) throws IOException {
        GgufWriter writer = new GgufWriter(options.alignment);
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
            String name = options.weightName.apply(e.getKey());
            QuantizedTensor t = e.getValue();
            long[] dims = ggmlDims(name, t.shape());
            ExactGgmlConversion.Result exact = ExactGgmlConversion.convert(t);
            GgmlType wanted = options.tensorTypes.get(name);
            if (wanted != null && wanted != exact.type()) {
                add(entries, writer, name, dims, wanted, quantize(wanted, t.dequantizeToArray(), name, dims),
                        Conversion.REQUANTIZED, t.spec().toJson());
            } else if (exact.type() != null) {
                add(entries, writer, name, dims, exact.type(), exact.data(), Conversion.EXACT, t.spec().toJson());
            } else {
                GgmlType type = requantizeType(options, name, t.spec().shortName(), t.shape(), exact.reason(),
                        nearest(t.spec().format() == Format.INT ? t.spec().bits() : t.spec().storageBitsPerCode(),
                                t.spec().symmetric(), dims));
                add(entries, writer, name, dims, type, quantize(type, t.dequantizeToArray(), name, dims),
                        Conversion.REQUANTIZED, t.spec().toJson());
            }
        }
        for (Map.Entry<String, ClaqTensor> e : model.claqTensors().entrySet()) {
            String name = options.weightName.apply(e.getKey());
            ClaqTensor t = e.getValue();
            long[] dims = ggmlDims(name, t.shape());
            GgmlType type = options.tensorTypes.containsKey(name) ? options.tensorTypes.get(name)
                    : requantizeType(options, name, "claq", t.shape(),
                    "CLAQ's per-column codebooks have no ggml block type", nearest(t.averageCodeBits(), true, dims));
            add(entries, writer, name, dims, type, quantize(type, t.dequantizeToArray(), name, dims),
                    Conversion.REQUANTIZED, "claq");
        }
        for (Map.Entry<String, FloatTensor> e : model.floatTensors().entrySet()) {
            String name = e.getKey();
            if (!options.modelMetadata.isEmpty() && name.endsWith("/input_scale")) {
                throw new InvalidSpecException("tensor '" + name + "': AWQ input scales have no place in a GGUF model "
                        + "file; quantize with scales that fold into the previous op, or without AWQ");
            }
            long[] dims = ggmlDims(name, e.getValue().shape());
            GgmlType type = options.tensorTypes.getOrDefault(name, options.floatType);
            add(entries, writer, name, dims, type, quantize(type, e.getValue().data(), name, dims), Conversion.FLOAT,
                    "fp32");
        }

        options.modelMetadata.forEach((k, v) -> {
            if (!k.equals("general.architecture") && !k.equals("general.name")) {
                writer.put(k, v);
            }
        });
        writer.put("general.architecture", GgufValue.string(options.architecture));
        String name = options.name != null ? options.name
                : model.sourceModel().isEmpty() ? "quant4j model" : model.sourceModel();
        writer.put("general.name", GgufValue.string(name));
        Set<GgmlType> weightTypes = new LinkedHashSet<>();
        boolean blockTypes = false;
        for (Entry en : entries) {
            if (en.conversion() != Conversion.FLOAT) weightTypes.add(en.type());
            blockTypes |= en.type().blockSize() > 1;
        }
        if (options.fileType >= 0) {
            writer.put("general.file_type", GgufValue.uint32(options.fileType));
        } else if (weightTypes.size() == 1 && weightTypes.iterator().next().llamaFileType() >= 0) {
            writer.put("general.file_type", GgufValue.uint32(weightTypes.iterator().next().llamaFileType()));
        }
        if (blockTypes) {
            writer.put("general.quantization_version", GgufValue.uint32(2)); // ggml's GGML_QNT_VERSION
        }
        if (!model.sourceModel().isEmpty()) {
            writer.put("quant4j.source_model", GgufValue.string(model.sourceModel()));
        }
        for (Map.Entry<String, String> m : model.metadata().entrySet()) {
            writer.put("quant4j.metadata." + m.getKey(), GgufValue.string(m.getValue()));
        }
        List<String> names = new ArrayList<>();
        List<String> sources = new ArrayList<>();
        List<String> conversions = new ArrayList<>();
        for (Entry en : entries) {
            names.add(en.name());
            sources.add(en.source());
            conversions.add(en.conversion().name().toLowerCase(java.util.Locale.ROOT));
        }
        writer.put("quant4j.tensor_names", GgufValue.stringArray(names));
        writer.put("quant4j.tensor_sources", GgufValue.stringArray(sources));
        writer.put("quant4j.tensor_conversions", GgufValue.stringArray(conversions));
        writer.write(target);
        return entries;
    }

    /** The tensors of a GGUF file as floats, by name, with row-major shapes ({@code ne} reversed). */
    public static Map<String, FloatTensor> read(Path file) throws IOException {
        GgufFile gguf = GgufReader.read(file);
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (GgufTensorInfo t : gguf.tensors().values()) {
            out.put(t.name(), new FloatTensor(t.shape(), gguf.dequantize(t.name())));
        }
        return out;
    }

    /** Hands the tensor to the writer (which keeps it until {@code write}) and records its entry. */
    private static void add(List<Entry> entries, GgufWriter writer, String name, long[] dims, GgmlType type,
                            byte[] bytes, Conversion conversion, String source) {
        writer.addTensor(name, dims, type, bytes);
        entries.add(new Entry(name, type, conversion, source));
    }

    private static GgmlType requantizeType(Options options, String name, String spec, long[] shape, String reason,
                                           GgmlType suggestion) {
        if (options.requantize == null) {
            throw new NoExactTypeException("tensor '" + name + "' (" + spec + ", shape " + Arrays.toString(shape)
                    + ") has no exact GGUF type: " + reason, suggestion);
        }
        return options.requantize;
    }

    /**
     * The ggml type to suggest for re-quantizing codes of {@code bits} bits: the block type with at least as many
     * bits (Q4_x, Q5_x, Q8_0; _1 when asymmetric), or F16 when the innermost dimension is no multiple of 32.
     */
    private static GgmlType nearest(double bits, boolean symmetric, long[] ne) {
        if (ne[0] % GgmlType.Q8_0.blockSize() != 0) {
            return GgmlType.F16;
        }
        if (bits <= 4) {
            return symmetric ? GgmlType.Q4_0 : GgmlType.Q4_1;
        }
        return bits <= 5 ? (symmetric ? GgmlType.Q5_0 : GgmlType.Q5_1) : GgmlType.Q8_0;
    }

    /**
     * A tensor refused because it has no exact GGUF type and no re-quantization was asked for. {@link #problem()}
     * says why, {@link #suggestion()} is the nearest type to ask for; the message gives the Java call.
     */
    public static final class NoExactTypeException extends InvalidSpecException {
        private final String problem;
        private final GgmlType suggestion;

        NoExactTypeException(String problem, GgmlType suggestion) {
            super(problem + ". Re-quantize it explicitly with GgufExport.Options.requantize(GgmlType." + suggestion
                    + ") (or Q8_0, Q5_0, Q5_1, Q4_0, Q4_1, F16, F32)");
            this.problem = problem;
            this.suggestion = suggestion;
        }

        /** The tensor, its spec and shape, and why no ggml type holds it exactly. */
        public String problem() { return problem; }

        /** The nearest type to re-quantize into. */
        public GgmlType suggestion() { return suggestion; }
    }

    private static byte[] quantize(GgmlType type, float[] values, String name, long[] ne) {
        if (ne[0] % type.blockSize() != 0) {
            throw new InvalidTensorException("tensor '" + name + "': its innermost dimension " + ne[0]
                    + " is not a multiple of the " + type + " block size " + type.blockSize()
                    + "; choose F16 or F32 for it");
        }
        return GgmlQuants.quantize(type, values, "tensor '" + name + "'");
    }

    /** ggml dimensions: the row-major shape reversed (a scalar as one element). */
    private static long[] ggmlDims(String name, long[] shape) {
        if (shape.length > GgufWriter.MAX_DIMS) {
            throw new InvalidTensorException("tensor '" + name + "' has " + shape.length
                    + " dimensions; GGUF (ggml) allows at most " + GgufWriter.MAX_DIMS);
        }
        if (shape.length == 0) {
            return new long[] {1};
        }
        long[] ne = new long[shape.length];
        for (int i = 0; i < shape.length; i++) ne[i] = shape[shape.length - 1 - i];
        return ne;
    }
}
