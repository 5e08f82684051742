package org.quant4j.core.io.gguf;

import static org.quant4j.core.io.gguf.GgmlQuants.putF16;
import static org.quant4j.core.io.gguf.GgmlQuants.putI32;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.makeQkx3Quants;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.makeQxQuants;

/**
 * The importance-weighted rows of the 32-value types of llama.cpp's {@code ggml/src/ggml-quants.c}
 * ({@code quantize_row_q4_0_impl}, {@code quantize_row_q4_1_impl}, {@code quantize_row_q5_0_impl},
 * {@code quantize_row_q5_1_impl}), one block per call, in the layouts of {@link GgmlQuants}. The weights are
 * {@code qw·sqrt(σ² + x²)} with {@code σ²} the mean square of the whole row; Q4_0 / Q5_0 fit their scale with
 * {@code make_qx_quants}, Q4_1 / Q5_1 scale and min with {@code make_qkx3_quants}.
 */
final class WeightedLegacyQuants {
    private WeightedLegacyQuants() {}

    /** One block of {@code type} (Q4_0, Q4_1, Q5_0 or Q5_1) from {@code x[xo..xo+32)}, importances {@code qw[qo..]}. */
    static void quantize(GgmlType type, float[] x, int xo, float sigma2, float[] qw, int qo, byte[] out, int o) {
        float[] weight = new float[32];
        for (int j = 0; j < 32; ++j) {
            float v = x[xo + j];
            weight[j] = qw[qo + j] * (float) Math.sqrt(sigma2 + v * v);
        }
        int[] L = new int[32];
        int qs;
        switch (type) {
            case Q4_0, Q5_0 -> {
                putF16(out, o, makeQxQuants(32, type == GgmlType.Q4_0 ? 8 : 16, x, xo, L, 0, 1, weight, 0));
                qs = o + (type == GgmlType.Q4_0 ? 2 : 6);
            }
            case Q4_1, Q5_1 -> {
                float[] min = new float[1];
                float d = makeQkx3Quants(32, type == GgmlType.Q4_1 ? 15 : 31, x, xo, weight, L, 0, min, 0, new int[32],
                        -0.9f, 0.05f, 36, false);
                putF16(out, o, d);
                putF16(out, o + 2, -min[0]);
                qs = o + (type == GgmlType.Q4_1 ? 4 : 8);
            }
            default -> throw new IllegalArgumentException(type + " has no weighted legacy row");
        }
        int qh = 0;
        for (int j = 0; j < 16; ++j) {
            out[qs + j] = (byte) ((L[j] & 0x0F) | (L[j + 16] & 0x0F) << 4);
            qh |= (L[j] >> 4 & 1) << j | (L[j + 16] >> 4 & 1) << (j + 16);
        }
        if (type == GgmlType.Q5_0 || type == GgmlType.Q5_1) {
            putI32(out, qs - 4, qh);
        }
    }
}
