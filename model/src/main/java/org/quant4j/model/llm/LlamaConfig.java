package org.quant4j.model.llm;

import org.quant4j.model.bert.ModelInputException;

/**
 * The hyper-parameters of a Llama-family decoder (Llama 1-3, Qwen2 and the like): pre-norm blocks of RMSNorm →
 * grouped-query attention with rotary position embeddings → RMSNorm → SwiGLU feed-forward.
 *
 * @param architecture   the GGUF {@code general.architecture}, e.g. {@code llama} or {@code qwen2}
 * @param vocabSize      rows of the token embedding
 * @param hidden         the residual width ({@code embedding_length})
 * @param layers         decoder blocks ({@code block_count})
 * @param heads          query heads ({@code attention.head_count})
 * @param kvHeads        key/value heads ({@code attention.head_count_kv}); {@code heads} is a multiple of it
 * @param ffn            the SwiGLU width ({@code feed_forward_length})
 * @param rmsEps         RMSNorm's epsilon ({@code attention.layer_norm_rms_epsilon})
 * @param ropeBase       the rotary base θ ({@code rope.freq_base}, 10,000 by default)
 * @param ropeScale      linear position scaling ({@code rope.scaling.factor} with type {@code linear}; 1 = none)
 * @param rope           which dimensions rotate together (llama.cpp's {@code LLAMA_ROPE_TYPE_NORM} or {@code NEOX})
 * @param contextLength  the trained context ({@code context_length})
 */
public record LlamaConfig(String architecture, int vocabSize, int hidden, int layers, int heads, int kvHeads, int ffn,
                          float rmsEps, float ropeBase, float ropeScale, RopeStyle rope, int contextLength) {

    /**
     * How rotary embedding pairs the dimensions of a head (llama.cpp {@code ggml_rope_ext} modes): {@code NORMAL}
     * rotates {@code (x[2i], x[2i+1])} (GGUF {@code llama}, whose converter permutes Q and K for it), {@code NEOX}
     * rotates {@code (x[i], x[i + d/2])} (GGUF {@code qwen2}, GPT-NeoX, Hugging Face's {@code rotate_half}).
     */
    public enum RopeStyle { NORMAL, NEOX }

    public LlamaConfig {
        if (vocabSize < 1 || hidden < 1 || layers < 1 || heads < 1 || kvHeads < 1 || ffn < 1 || contextLength < 1) {
            throw new ModelInputException(architecture + ": sizes must be positive: vocab " + vocabSize + ", hidden "
                    + hidden + ", layers " + layers + ", heads " + heads + "/" + kvHeads + ", ffn " + ffn + ", context "
                    + contextLength);
        }
        if (hidden % heads != 0 || heads % kvHeads != 0) {
            throw new ModelInputException(architecture + ": hidden " + hidden + " must be a multiple of the " + heads
                    + " heads, and the heads of the " + kvHeads + " key/value heads");
        }
        if ((hidden / heads) % 2 != 0) {
            throw new ModelInputException(architecture + ": head dimension " + hidden / heads + " must be even for "
                    + "rotary embeddings");
        }
        if (!(rmsEps > 0) || !(ropeBase > 1) || !(ropeScale > 0)) {
            throw new ModelInputException(architecture + ": RMS epsilon " + rmsEps + ", rope base " + ropeBase
                    + " and rope scale " + ropeScale + " must be positive (base > 1)");
        }
    }

    /** Dimensions per head. */
    public int headDim() {
        return hidden / heads;
    }

    /** Query heads sharing one key/value head. */
    public int groupSize() {
        return heads / kvHeads;
    }
}
