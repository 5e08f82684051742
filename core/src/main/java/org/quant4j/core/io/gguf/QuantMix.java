package org.quant4j.core.io.gguf;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.quant4j.core.InvalidSpecException;

/**
 * The tensor types {@code llama-quantize} chooses for a named mix ({@code Q4_K_M} and friends), as llama.cpp's
 * {@code llama_tensor_get_type} / {@code llama_tensor_get_type_impl} / {@code tensor_type_fallback} choose them
 * (src/llama-quant.cpp at commit 80fb11ac, the source in npm {@code node-llama-cpp@3.21.1}) for dense decoders
 * (no experts, not Falcon, not the 70B special case): the mix's base type everywhere, except
 * <ul>
 *   <li>norms and other 1-D tensors: kept as they are;</li>
 *   <li>{@code output.weight} (or {@code token_embd.weight} when the output is tied): Q6_K (Q8_0 stays Q8_0; Q8_0
 *       when its rows do not divide into the base type's blocks);</li>
 *   <li>{@code attn_v}: Q2_K → Q3_K (Q4_K with ≥ 4 query heads per key/value head); Q3_K_M → Q5_K for the first two,
 *       Q4_K after; Q4_K_M and Q5_K_M → Q6_K where {@code use_more_bits} (the first and last eighth of the layers
 *       and every third in between);</li>
 *   <li>{@code ffn_down}: Q2_K → Q3_K; Q3_K_M → Q5_K for the first sixteenth of the layers, else Q4_K; Q4_K_M and
 *       Q5_K_M → Q6_K where {@code use_more_bits};</li>
 *   <li>{@code attn_output}: Q2_K → Q3_K; Q3_K_M → Q4_K; fused {@code attn_qkv}: Q3_K_M → Q4_K, Q4_K_M → Q5_K,
 *       Q5_K_M → Q6_K;</li>
 *   <li>a row length the chosen type's blocks do not divide: Q2_K/Q3_K → Q4_0, Q4_K → Q5_0, Q5_K → Q5_1,
 *       Q6_K → Q8_0, IQ4_XS → IQ4_NL, and F16 when even that does not divide.</li>
 * </ul>
 * Counters run over the tensors in file order, as llama.cpp's do.
 */
public enum QuantMix {
    Q2_K(GgmlType.Q2_K, 10), Q3_K_M(GgmlType.Q3_K, 12), Q4_K_M(GgmlType.Q4_K, 15), Q5_K_M(GgmlType.Q5_K, 17),
    Q6_K(GgmlType.Q6_K, 18), Q8_0(GgmlType.Q8_0, 7);

    private final GgmlType base;
    private final int fileType;

    QuantMix(GgmlType base, int fileType) {
        this.base = base;
        this.fileType = fileType;
    }

    /** The mix's base type. */
    public GgmlType base() {
        return base;
    }

    /** llama.cpp's {@code llama_ftype} ({@code general.file_type}). */
    public int fileType() {
        return fileType;
    }

    /** The mix named as llama-quantize names it ({@code q4_k_m}, case-insensitive). */
    public static QuantMix parse(String name) {
        for (QuantMix m : values()) {
            if (m.name().equalsIgnoreCase(name.strip())) {
                return m;
            }
        }
        throw new InvalidSpecException("unknown quantization mix '" + name + "'; mixes: "
                + String.join(", ", java.util.Arrays.stream(values()).map(m -> m.name().toLowerCase(Locale.ROOT)).toList()));
    }

    /**
     * The type of every tensor, by name, in the given order.
     *
     * @param tensors    names and ggml dimensions ({@code ne}), in file order
     * @param layers     the decoder's blocks
     * @param gqa        query heads per key/value head
     */
    public Map<String, GgmlType> assign(List<GgufTensorInfo> tensors, int layers, int gqa) {
        boolean tied = tensors.stream().noneMatch(t -> t.name().equals("output.weight"));
        int attentionV = (int) tensors.stream().filter(t -> t.name().contains("attn_v.weight")
                || t.name().contains("attn_qkv.weight")).count();
        int iV = 0;
        int iDown = 0;
        Map<String, GgmlType> out = new LinkedHashMap<>();
        for (GgufTensorInfo t : tensors) {
            String n = t.name();
            if (t.ne().length < 2 || !n.endsWith("weight") || n.contains("_norm.weight")) {
                out.put(n, t.type());
                continue;
            }
            GgmlType type = base;
            if (n.equals("output.weight") || tied && n.equals("token_embd.weight")) {
                type = t.ne()[0] % base.blockSize() != 0 ? GgmlType.Q8_0 : base == GgmlType.Q8_0 ? GgmlType.Q8_0
                        : GgmlType.Q6_K;
            } else if (n.contains("attn_v.weight") || n.contains("attn_qkv.weight")) {
                boolean qkv = n.contains("attn_qkv.weight");
                if (qkv) {
                    type = this == Q3_K_M ? GgmlType.Q4_K : this == Q4_K_M ? GgmlType.Q5_K
                            : this == Q5_K_M ? GgmlType.Q6_K : base;
                } else if (this == Q2_K) {
                    type = gqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
                } else if (this == Q3_K_M) {
                    type = iV < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
                } else if ((this == Q4_K_M || this == Q5_K_M) && useMoreBits(iV, attentionV)) {
                    type = GgmlType.Q6_K;
                }
                iV++;
            } else if (n.contains("ffn_down")) {
                if (this == Q2_K) {
                    type = GgmlType.Q3_K;
                } else if (this == Q3_K_M) {
                    type = iDown < layers / 16 ? GgmlType.Q5_K : GgmlType.Q4_K;
                } else if ((this == Q4_K_M || this == Q5_K_M) && useMoreBits(iDown, layers)) {
                    type = GgmlType.Q6_K;
                }
                iDown++;
            } else if (n.contains("attn_output.weight")) {
                type = this == Q2_K ? GgmlType.Q3_K : this == Q3_K_M ? GgmlType.Q4_K : base;
            }
            out.put(n, fallback(type, t.ne()[0]));
        }
        return out;
    }

    /** llama.cpp's {@code use_more_bits}: the first and last eighth of the layers and every third in between. */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** {@code tensor_type_fallback}: a type whose blocks divide rows of {@code ncols}. */
    static GgmlType fallback(GgmlType type, long ncols) {
        if (ncols % type.blockSize() == 0) {
            return type;
        }
        GgmlType f = switch (type) {
            case IQ4_XS -> GgmlType.IQ4_NL;
            case Q2_K, Q3_K -> GgmlType.Q4_0;
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            default -> type;
        };
        return ncols % f.blockSize() == 0 ? f : GgmlType.F16;
    }
}
