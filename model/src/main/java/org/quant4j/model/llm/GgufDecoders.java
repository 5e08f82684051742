package org.quant4j.model.llm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.io.gguf.GgmlType;
import org.quant4j.core.io.gguf.GgufExport;
import org.quant4j.core.io.gguf.QuantMix;
import org.quant4j.core.io.gguf.GgufFile;
import org.quant4j.core.io.gguf.GgufReader;
import org.quant4j.core.io.gguf.GgufTensorInfo;
import org.quant4j.core.io.gguf.GgufValue;
import org.quant4j.model.bert.ModelInputException;
import org.quant4j.model.bert.UnsupportedModelException;

/**
 * Reads a Llama-family decoder from a GGUF file as llama.cpp writes and reads one (gguf-py's
 * {@code constants.py} key and tensor names): architectures {@code llama} (rotary pairs {@code NORMAL}; the
 * converter has permuted Q and K for them) and {@code qwen2} ({@code NEOX}, Q/K/V biases); hyper-parameters from
 * {@code <arch>.*} metadata; every tensor dequantized to float32 on load ({@link GgufFile#dequantize}).
 */
public final class GgufDecoders {
    private static final Set<String> ARCHITECTURES = Set.of("llama", "qwen2");

    private GgufDecoders() {
    }

    /**
     * @throws UnsupportedModelException for another architecture, a partial or non-linear rope, or a tensor type
     *                                   that cannot be dequantized (each named)
     * @throws ModelInputException       for a missing hyper-parameter or tensor, or a shape that does not fit
     */
    public static LlamaDecoder load(Path file) throws IOException {
        GgufFile gguf = GgufReader.read(file);
        LlamaConfig config = config(gguf);
        Map<String, INDArray> params = new LinkedHashMap<>();
        for (GgufTensorInfo t : gguf.tensors().values()) {
            if (!t.type().hasCodec()) {
                throw new UnsupportedModelException(file + ": tensor '" + t.name() + "' is " + t.type()
                        + ", which this reader cannot dequantize (" + GgmlType.codecNames() + ")");
            }
            params.put(t.name(), Nd4j.create(gguf.dequantize(t.name()), t.shape(), 'c'));
        }
        return LlamaDecoder.of(config, file.toString(), params);
    }

    /**
     * Export options that make a quantized decoder a GGUF llama.cpp runs: the source file's metadata (architecture,
     * hyper-parameters, tokenizer) and tensor names ({@code blk.N.attn_q} → {@code blk.N.attn_q.weight}); then
     * {@code GgufExport.write(model, target, options)} converts each weight exactly where ggml has its grid, or
     * re-quantizes to {@code requantize}.
     *
     * @param requantize the ggml type of weights without an exact conversion (null: refuse them)
     */
    public static GgufExport.Options exportOptions(Path source, GgmlType requantize) throws IOException {
        GgufFile gguf = GgufReader.read(source);
        config(gguf); // a decoder this reader supports
        GgufExport.Options o = GgufExport.Options.defaults().model(gguf.metadata(), target -> target + ".weight");
        return requantize == null ? o : o.requantize(requantize);
    }

    /**
     * As {@link #exportOptions(Path, GgmlType)}, with every tensor typed as {@code llama-quantize} types it for
     * {@code mix} ({@link QuantMix}: e.g. Q4_K_M's Q6_K attn_v / ffn_down in the layers it favours and Q6_K output).
     */
    public static GgufExport.Options exportOptions(Path source, QuantMix mix) throws IOException {
        GgufFile gguf = GgufReader.read(source);
        LlamaConfig c = config(gguf);
        return GgufExport.Options.defaults().model(gguf.metadata(), target -> target + ".weight")
                .tensorTypes(mix.assign(List.copyOf(gguf.tensors().values()), c.layers(), c.groupSize()), mix.fileType());
    }

    static LlamaConfig config(GgufFile gguf) {
        Map<String, GgufValue> m = gguf.metadata();
        String file = gguf.path().toString();
        String arch = string(m, file, "general.architecture");
        if (!ARCHITECTURES.contains(arch)) {
            throw new UnsupportedModelException(file + ": general.architecture is '" + arch + "'; supported: "
                    + String.join(", ", ARCHITECTURES.stream().sorted().toList()));
        }
        int hidden = integer(m, file, arch + ".embedding_length");
        int heads = integer(m, file, arch + ".attention.head_count");
        int kvHeads = m.containsKey(arch + ".attention.head_count_kv")
                ? integer(m, file, arch + ".attention.head_count_kv") : heads;
        int headDim = hidden / Math.max(1, heads);
        if (m.containsKey(arch + ".rope.dimension_count") && integer(m, file, arch + ".rope.dimension_count") != headDim) {
            throw new UnsupportedModelException(file + ": " + arch + ".rope.dimension_count is "
                    + integer(m, file, arch + ".rope.dimension_count") + " but heads have " + headDim
                    + " dimensions; partial rotary embeddings are not supported");
        }
        float ropeScale = 1f;
        String scaling = m.containsKey(arch + ".rope.scaling.type") ? string(m, file, arch + ".rope.scaling.type") : "none";
        switch (scaling.toLowerCase(Locale.ROOT)) {
            case "none" -> { }
            case "linear" -> ropeScale = number(m, file, arch + ".rope.scaling.factor", 1f);
            default -> throw new UnsupportedModelException(file + ": " + arch + ".rope.scaling.type '" + scaling
                    + "' is not supported (none or linear)");
        }
        if (gguf.tensors().containsKey("rope_freqs.weight")) {
            throw new UnsupportedModelException(file + ": tensor 'rope_freqs.weight' (Llama 3.1 frequency scaling) "
                    + "is not supported");
        }
        int vocab = Math.toIntExact(gguf.tensor("token_embd.weight").shape()[0]);
        return new LlamaConfig(arch, vocab, hidden, integer(m, file, arch + ".block_count"), heads, kvHeads,
                integer(m, file, arch + ".feed_forward_length"),
                number(m, file, arch + ".attention.layer_norm_rms_epsilon", Float.NaN),
                number(m, file, arch + ".rope.freq_base", 10_000f), ropeScale,
                arch.equals("llama") ? LlamaConfig.RopeStyle.NORMAL : LlamaConfig.RopeStyle.NEOX,
                integer(m, file, arch + ".context_length"));
    }

    private static GgufValue value(Map<String, GgufValue> m, String file, String key) {
        GgufValue v = m.get(key);
        if (v == null) {
            throw new ModelInputException(file + ": metadata '" + key + "' is missing");
        }
        return v;
    }

    private static String string(Map<String, GgufValue> m, String file, String key) {
        try {
            return value(m, file, key).asString();
        } catch (RuntimeException e) {
            throw new ModelInputException(file + ": metadata '" + key + "' is not a string");
        }
    }

    private static int integer(Map<String, GgufValue> m, String file, String key) {
        long v;
        try {
            v = value(m, file, key).asLong();
        } catch (ModelInputException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelInputException(file + ": metadata '" + key + "' is not an integer");
        }
        if (v < 1 || v > Integer.MAX_VALUE) {
            throw new ModelInputException(file + ": metadata '" + key + "' is " + v + ", expected 1.." + Integer.MAX_VALUE);
        }
        return (int) v;
    }

    /** A float value, or {@code fallback} when absent (NaN: required). */
    private static float number(Map<String, GgufValue> m, String file, String key, float fallback) {
        if (!m.containsKey(key) && !Float.isNaN(fallback)) {
            return fallback;
        }
        try {
            return value(m, file, key).asFloat();
        } catch (ModelInputException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelInputException(file + ": metadata '" + key + "' is not a number");
        }
    }
}
