package org.quant4j.model.llm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.model.bert.ModelInputException;

/**
 * A Llama-family decoder in ND4J, float32: token embedding; per block {@code x += Attn(RMSNorm(x))},
 * {@code x += FFN(RMSNorm(x))} with grouped-query causal attention over rotary-embedded queries and keys (optional
 * Q/K/V biases, as Qwen2) and the SwiGLU feed-forward {@code W_down (silu(W_gate h) ⊙ W_up h)}; final RMSNorm and the
 * output projection (tied to the embedding when the file has none). Touvron et al. 2023 (LLaMA, §2.2); Su et al.
 * 2021 (RoFormer, eq. 34) for the rotation; Ainslie et al. 2023 (GQA). The forward follows llama.cpp's
 * {@code llm_build_llama} / {@code llm_build_qwen2} (src/llama-model.cpp) operation for operation.
 *
 * <p>Parameters are named as in GGUF ({@code token_embd.weight}, {@code blk.N.attn_q.weight}, ...), weights
 * {@code [out, in]}. {@link #logits} runs a whole sequence at once (perplexity); {@link #session} keeps a key/value
 * cache for generation. Not thread-safe.
 */
public final class LlamaDecoder {
    private final LlamaConfig config;
    private final String source;
    private final Map<String, INDArray> params;
    private final Rope rope;

    private LlamaDecoder(LlamaConfig config, String source, Map<String, INDArray> params) {
        this.config = config;
        this.source = source;
        this.params = params;
        this.rope = new Rope(config);
    }

    /**
     * A decoder over the given parameters (kept, not copied).
     *
     * @param source names the model in errors
     * @throws ModelInputException naming the parameter that is missing or has the wrong shape
     */
    public static LlamaDecoder of(LlamaConfig config, String source, Map<String, INDArray> params) {
        Map<String, INDArray> p = new LinkedHashMap<>(params);
        int h = config.hidden();
        int kv = config.kvHeads() * config.headDim();
        require(source, p, "token_embd.weight", config.vocabSize(), h);
        require(source, p, "output_norm.weight", h);
        if (p.containsKey("output.weight")) {
            require(source, p, "output.weight", config.vocabSize(), h);
        }
        for (int l = 0; l < config.layers(); l++) {
            String b = "blk." + l + ".";
            require(source, p, b + "attn_norm.weight", h);
            require(source, p, b + "attn_q.weight", h, h);
            require(source, p, b + "attn_k.weight", kv, h);
            require(source, p, b + "attn_v.weight", kv, h);
            require(source, p, b + "attn_output.weight", h, h);
            require(source, p, b + "ffn_norm.weight", h);
            require(source, p, b + "ffn_gate.weight", config.ffn(), h);
            require(source, p, b + "ffn_up.weight", config.ffn(), h);
            require(source, p, b + "ffn_down.weight", h, config.ffn());
            for (String bias : new String[]{"attn_q.bias", "attn_k.bias", "attn_v.bias"}) {
                if (p.containsKey(b + bias)) {
                    require(source, p, b + bias, bias.startsWith("attn_q") ? h : kv);
                }
            }
        }
        return new LlamaDecoder(config, source, p);
    }

    public LlamaConfig config() {
        return config;
    }

    public String source() {
        return source;
    }

    /** The parameter names, in file order. */
    public List<String> parameterNames() {
        return List.copyOf(params.keySet());
    }

    public boolean hasParameter(String name) {
        return params.containsKey(name);
    }

    /** A parameter (the decoder's own array: changes show in the forward). */
    public INDArray parameter(String name) {
        INDArray p = params.get(name);
        if (p == null) {
            throw new ModelInputException(source + ": no parameter '" + name + "'");
        }
        return p;
    }

    /** Replaces a parameter's values (same shape). */
    public void setParameter(String name, INDArray value) {
        INDArray p = parameter(name);
        if (!Arrays.equals(p.shape(), value.shape())) {
            throw new ModelInputException(source + ": parameter '" + name + "' has shape " + Arrays.toString(p.shape())
                    + ", the new value " + Arrays.toString(value.shape()));
        }
        p.assign(value.castTo(DataType.FLOAT));
    }

    /** Next-token logits {@code [tokens, vocab]} of a whole sequence, row t predicting token t + 1. */
    public INDArray logits(int[] tokens) {
        return session().append(tokens);
    }

    /** A generation session: positions start at 0 and every appended token is cached. */
    public Session session() {
        return new Session();
    }

    /**
     * Greedy generation: the {@code n} tokens that follow {@code prompt}, each the arg-max of the logits (the lowest
     * id on ties, as llama.cpp's greedy sampler).
     */
    public int[] greedy(int[] prompt, int n) {
        Session s = session();
        INDArray logits = s.append(prompt);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = logits.getRow(logits.rows() - 1).argMax().getInt(0);
            if (i + 1 < n) {
                logits = s.append(new int[]{out[i]});
            }
        }
        return out;
    }

    /** A key/value cache over one sequence. */
    public final class Session {
        private final List<INDArray> keys = new ArrayList<>();
        private final List<INDArray> values = new ArrayList<>();
        private int position;

        private Session() {
        }

        /** Tokens seen so far. */
        public int position() {
            return position;
        }

        /**
         * Runs {@code tokens} at the next positions and returns their next-token logits {@code [tokens, vocab]}.
         *
         * @throws ModelInputException for an empty input, a token id outside the vocabulary, or positions beyond the
         *                             model's context
         */
        public INDArray append(int[] tokens) {
            if (tokens.length == 0) {
                throw new ModelInputException(source + ": no tokens to run");
            }
            if (position + tokens.length > config.contextLength()) {
                throw new ModelInputException(source + ": " + (position + tokens.length) + " tokens exceed the model's "
                        + "context of " + config.contextLength());
            }
            INDArray x = embed(tokens);
            for (int l = 0; l < config.layers(); l++) {
                x = block(l, x);
            }
            position += tokens.length;
            INDArray out = params.getOrDefault("output.weight", params.get("token_embd.weight"));
            return rmsNorm(x, params.get("output_norm.weight")).mmul(out.transpose());
        }

        private INDArray embed(int[] tokens) {
            INDArray table = params.get("token_embd.weight");
            for (int i = 0; i < tokens.length; i++) {
                if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                    throw new ModelInputException(source + ": token " + i + " is id " + tokens[i] + ", outside the "
                            + "vocabulary of " + config.vocabSize());
                }
            }
            return table.getRows(tokens);
        }

        private INDArray block(int l, INDArray x) {
            return runBlock(l, x, position, keys, values, null, null);
        }
    }

    /** The points inside a block where a quantization target reads its input. */
    enum Stage {
        /** RMSNorm(x): the input of Q, K and V. */
        ATTENTION_INPUT,
        /** The attention mix of the values: the input of the attention output projection. */
        ATTENTION_MIX,
        /** RMSNorm(x + attention): the input of the gate and up projections. */
        FFN_INPUT,
        /** silu(gate) ⊙ up: the input of the down projection. */
        FFN_ACT
    }

    /**
     * Runs block {@code l} on {@code x} (rows at positions {@code position…}), attending over the cached keys and
     * values plus the new ones (appended to {@code keys} / {@code values} when they are not null; without a cache the
     * rows attend over themselves), handing each stage's input rows to {@code tap} (null: none) and stopping after
     * {@code stopAfter} (null: the whole block). Returns the block's output, or null when stopped early.
     */
    INDArray runBlock(int l, INDArray x, int position, List<INDArray> keys, List<INDArray> values, Stage stopAfter,
                      java.util.function.BiConsumer<Stage, INDArray> tap) {
        String b = "blk." + l + ".";
        INDArray h = rmsNorm(x, params.get(b + "attn_norm.weight"));
        if (emit(tap, Stage.ATTENTION_INPUT, h, stopAfter)) {
            return null;
        }
        INDArray q = rope.apply(linear(h, b + "attn_q"), config.heads(), position);
        INDArray k = rope.apply(linear(h, b + "attn_k"), config.kvHeads(), position);
        INDArray v = linear(h, b + "attn_v");
        if (keys != null) {
            if (keys.size() == l) {
                keys.add(k);
                values.add(v);
            } else {
                keys.set(l, Nd4j.concat(0, keys.get(l), k));
                values.set(l, Nd4j.concat(0, values.get(l), v));
            }
            k = keys.get(l);
            v = values.get(l);
        }
        INDArray mix = attention(q, k, v, position);
        if (emit(tap, Stage.ATTENTION_MIX, mix, stopAfter)) {
            return null;
        }
        x = x.add(mix.mmul(params.get(b + "attn_output.weight").transpose()));
        INDArray f = rmsNorm(x, params.get(b + "ffn_norm.weight"));
        if (emit(tap, Stage.FFN_INPUT, f, stopAfter)) {
            return null;
        }
        INDArray gate = linear(f, b + "ffn_gate");
        INDArray act = Transforms.sigmoid(gate, true).muli(gate).muli(linear(f, b + "ffn_up"));
        if (emit(tap, Stage.FFN_ACT, act, stopAfter)) {
            return null;
        }
        return x.addi(act.mmul(params.get(b + "ffn_down.weight").transpose()));
    }

    /** Hands {@code rows} to the tap; true when the block stops here. */
    private static boolean emit(java.util.function.BiConsumer<Stage, INDArray> tap, Stage stage, INDArray rows,
                                Stage stopAfter) {
        if (tap != null) {
            tap.accept(stage, rows);
        }
        return stage == stopAfter;
    }

    /** Causal grouped-query attention of the new queries over every cached position. */
    private INDArray attention(INDArray q, INDArray k, INDArray v, int position) {
        int t = (int) q.rows();
        int p = (int) k.rows();
        int d = config.headDim();
        INDArray mask = causalMask(t, p, position);
        INDArray out = Nd4j.create(DataType.FLOAT, t, config.hidden());
        double scale = 1.0 / Math.sqrt(d);
        for (int head = 0; head < config.heads(); head++) {
            int g = head / config.groupSize();
            INDArray qh = q.get(NDArrayIndex.all(), NDArrayIndex.interval(head * d, (head + 1) * d));
            INDArray kh = k.get(NDArrayIndex.all(), NDArrayIndex.interval(g * d, (g + 1) * d));
            INDArray vh = v.get(NDArrayIndex.all(), NDArrayIndex.interval(g * d, (g + 1) * d));
            INDArray scores = qh.mmul(kh.transpose()).muli(scale).addi(mask);
            INDArray weights = softmaxRows(scores);
            out.get(NDArrayIndex.all(), NDArrayIndex.interval(head * d, (head + 1) * d)).assign(weights.mmul(vh));
        }
        return out;
    }

    /** 0 where query row i (at position {@code position + i}) may see key j, −∞ after it. */
    private static INDArray causalMask(int t, int p, int position) {
        float[] m = new float[t * p];
        for (int i = 0; i < t; i++) {
            for (int j = position + i + 1; j < p; j++) {
                m[i * p + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return Nd4j.create(m, new long[]{t, p}, 'c');
    }

    private INDArray linear(INDArray x, String name) {
        INDArray y = x.mmul(params.get(name + ".weight").transpose());
        INDArray bias = params.get(name + ".bias");
        return bias == null ? y : y.addiRowVector(bias);
    }

    /** {@code x / sqrt(mean(x²) + ε) · w} per row (Zhang & Sennrich 2019, eq. 4). */
    private INDArray rmsNorm(INDArray x, INDArray w) {
        INDArray rms = Transforms.sqrt(x.mul(x).mean(true, 1).addi(config.rmsEps()), false);
        return x.divColumnVector(rms).muliRowVector(w);
    }

    private static INDArray softmaxRows(INDArray s) {
        INDArray e = Transforms.exp(s.subColumnVector(s.max(true, 1)), false);
        return e.diviColumnVector(e.sum(true, 1));
    }

    private static void require(String source, Map<String, INDArray> p, String name, long... shape) {
        INDArray a = p.get(name);
        if (a == null) {
            throw new ModelInputException(source + ": the decoder needs parameter '" + name + "' of shape "
                    + Arrays.toString(shape) + ", which is missing");
        }
        if (!Arrays.equals(a.shape(), shape)) {
            throw new ModelInputException(source + ": parameter '" + name + "' has shape " + Arrays.toString(a.shape())
                    + ", expected " + Arrays.toString(shape));
        }
    }
}
