package org.quant4j.model.llm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.quant4j.core.io.gguf.GgmlType;
import org.quant4j.core.io.gguf.GgufValue;
import org.quant4j.core.io.gguf.GgufWriter;

/**
 * Seeded random decoders written as F32 GGUF files that llama.cpp loads: the architecture check of the issue ("synthetic
 * files at real shapes are fine"). Weights are scaled so that logits have clear winners (greedy decoding is then
 * decided by the model, not by rounding). The vocabulary is SentencePiece-style: {@code <unk> <s> </s>}, the 256
 * byte tokens, the pieces {@code ▁}, {@code w}, the digits, {@code ▁w}, and words {@code ▁w0 … ▁w<n>} whose every
 * prefix is a piece, so that a prompt "w12 w7" tokenizes into whole words; byte tokens get small output rows.
 */
public final class SyntheticDecoders {
    public static final int WORDS = 400;

    private SyntheticDecoders() {
    }

    /** The vocabulary's pieces, id order. */
    public static List<String> pieces() {
        List<String> p = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            p.add(String.format("<0x%02X>", b));
        }
        p.add("\u2581");
        p.add("w");
        for (int d = 0; d < 10; d++) {
            p.add(Integer.toString(d));
        }
        p.add("\u2581w");
        for (int w = 0; w < WORDS; w++) {
            p.add("\u2581w" + w);
        }
        return p;
    }

    /**
     * Writes a decoder of {@code config}'s shape ({@code vocabSize} is ignored: the vocabulary's) with random weights.
     *
     * @param qkvBias whether attention Q/K/V get biases (Qwen2)
     * @param tied    whether the output projection is the embedding (no {@code output.weight})
     */
    public static LlamaConfig write(Path file, LlamaConfig shape, boolean qkvBias, boolean tied, long seed) throws IOException {
        List<String> pieces = pieces();
        int vocab = pieces.size();
        LlamaConfig c = new LlamaConfig(shape.architecture(), vocab, shape.hidden(), shape.layers(), shape.heads(),
                shape.kvHeads(), shape.ffn(), shape.rmsEps(), shape.ropeBase(), shape.ropeScale(), shape.rope(),
                shape.contextLength());
        String a = c.architecture();
        Random r = new Random(seed);
        GgufWriter w = new GgufWriter()
                .put("general.architecture", GgufValue.string(a))
                .put("general.name", GgufValue.string("quant4j synthetic " + a))
                .put("general.file_type", GgufValue.uint32(0))
                .put(a + ".context_length", GgufValue.uint32(c.contextLength()))
                .put(a + ".embedding_length", GgufValue.uint32(c.hidden()))
                .put(a + ".block_count", GgufValue.uint32(c.layers()))
                .put(a + ".feed_forward_length", GgufValue.uint32(c.ffn()))
                .put(a + ".attention.head_count", GgufValue.uint32(c.heads()))
                .put(a + ".attention.head_count_kv", GgufValue.uint32(c.kvHeads()))
                .put(a + ".attention.layer_norm_rms_epsilon", GgufValue.float32(c.rmsEps()))
                .put(a + ".rope.freq_base", GgufValue.float32(c.ropeBase()))
                .put(a + ".rope.dimension_count", GgufValue.uint32(c.headDim()))
                .put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.stringArray(pieces))
                .put("tokenizer.ggml.scores", GgufValue.float32Array(scores(pieces)))
                .put("tokenizer.ggml.token_type", GgufValue.int32Array(types(pieces)))
                .put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(0))
                .put("tokenizer.ggml.bos_token_id", GgufValue.uint32(1))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(2))
                .put("tokenizer.ggml.add_bos_token", GgufValue.bool(false))
                .put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        int h = c.hidden();
        int kv = c.kvHeads() * c.headDim();
        tensor(w, "token_embd.weight", gaussian(r, vocab * h, 1.0), h, vocab);
        tensor(w, "output_norm.weight", norm(r, h), h);
        if (!tied) {
            float[] out = gaussian(r, vocab * h, 3.0 / Math.sqrt(h));
            for (int t = 3; t < 3 + 256; t++) { // byte tokens rarely win
                for (int i = 0; i < h; i++) {
                    out[t * h + i] *= 0.2f;
                }
            }
            tensor(w, "output.weight", out, h, vocab);
        }
        for (int l = 0; l < c.layers(); l++) {
            String b = "blk." + l + ".";
            tensor(w, b + "attn_norm.weight", norm(r, h), h);
            tensor(w, b + "attn_q.weight", gaussian(r, h * h, 1.0 / Math.sqrt(h)), h, h);
            tensor(w, b + "attn_k.weight", gaussian(r, kv * h, 1.0 / Math.sqrt(h)), h, kv);
            tensor(w, b + "attn_v.weight", gaussian(r, kv * h, 1.0 / Math.sqrt(h)), h, kv);
            if (qkvBias) {
                tensor(w, b + "attn_q.bias", gaussian(r, h, 0.1), h);
                tensor(w, b + "attn_k.bias", gaussian(r, kv, 0.1), kv);
                tensor(w, b + "attn_v.bias", gaussian(r, kv, 0.1), kv);
            }
            tensor(w, b + "attn_output.weight", gaussian(r, h * h, 0.5 / Math.sqrt(h)), h, h);
            tensor(w, b + "ffn_norm.weight", norm(r, h), h);
            tensor(w, b + "ffn_gate.weight", gaussian(r, c.ffn() * h, 1.0 / Math.sqrt(h)), h, c.ffn());
            tensor(w, b + "ffn_up.weight", gaussian(r, c.ffn() * h, 1.0 / Math.sqrt(h)), h, c.ffn());
            tensor(w, b + "ffn_down.weight", gaussian(r, h * c.ffn(), 0.5 / Math.sqrt(c.ffn())), c.ffn(), h);
        }
        w.write(file);
        return c;
    }

    private static float[] scores(List<String> pieces) {
        float[] s = new float[pieces.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = pieces.get(i).startsWith("<") ? 0f : pieces.get(i).length(); // longer pieces merge first
        }
        return s;
    }

    private static int[] types(List<String> pieces) {
        int[] t = new int[pieces.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = i == 0 ? 2 : i < 3 ? 3 : i < 3 + 256 ? 6 : 1; // unknown, control, byte, normal
        }
        return t;
    }

    private static void tensor(GgufWriter w, String name, float[] values, long... ne) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        w.addTensor(name, ne, GgmlType.F32, b.array());
    }

    private static float[] gaussian(Random r, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * std);
        }
        return v;
    }

    private static float[] norm(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (1 + 0.1 * r.nextGaussian());
        }
        return v;
    }

    /** Our decode of ids with this vocabulary: ▁ as a space, byte tokens as their bytes (UTF-8 text). */
    public static String decode(int[] ids) {
        List<String> pieces = pieces();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            String p = pieces.get(id);
            if (p.startsWith("<0x")) {
                out.write(Integer.parseInt(p.substring(3, 5), 16));
            } else if (!p.startsWith("<")) {
                out.writeBytes(p.replace('\u2581', ' ').getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

}
