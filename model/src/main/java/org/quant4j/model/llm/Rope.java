package org.quant4j.model.llm;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rotary position embedding (Su et al. 2021, RoFormer, eq. 34) as llama.cpp's {@code ggml_rope_ext} computes it in
 * float: for position {@code p} and pair {@code i < d/2}, {@code θ = (p / scale) · base^(−2i/d)}, and the pair
 * {@code (a, b)} becomes {@code (a cos θ − b sin θ, a sin θ + b cos θ)}; which dimensions form pair {@code i} is the
 * config's {@link LlamaConfig.RopeStyle}.
 */
final class Rope {
    private final int headDim;
    private final float base;
    private final float scale;
    private final boolean neox;

    Rope(LlamaConfig config) {
        this.headDim = config.headDim();
        this.base = config.ropeBase();
        this.scale = config.ropeScale();
        this.neox = config.rope() == LlamaConfig.RopeStyle.NEOX;
    }

    /** Rotates {@code x [tokens, heads·d]} whose row t is at position {@code start + t}; returns a new array. */
    INDArray apply(INDArray x, int heads, int start) {
        int t = (int) x.rows();
        float[] v = x.dup('c').data().asFloat();
        int half = headDim / 2;
        float[] cos = new float[half];
        float[] sin = new float[half];
        for (int r = 0; r < t; r++) {
            float pos = (start + r) / scale;
            for (int i = 0; i < half; i++) {
                float theta = pos * (float) Math.pow(base, -2.0 * i / headDim);
                cos[i] = (float) Math.cos(theta);
                sin[i] = (float) Math.sin(theta);
            }
            for (int h = 0; h < heads; h++) {
                int o = r * heads * headDim + h * headDim;
                for (int i = 0; i < half; i++) {
                    int ia = o + (neox ? i : 2 * i);
                    int ib = o + (neox ? i + half : 2 * i + 1);
                    float a = v[ia];
                    float b = v[ib];
                    v[ia] = a * cos[i] - b * sin[i];
                    v[ib] = a * sin[i] + b * cos[i];
                }
            }
        }
        return Nd4j.create(v, new long[]{t, (long) heads * headDim}, 'c');
    }
}
