package org.quant4j.core.io.gguf;

import static org.quant4j.core.io.gguf.GgmlQuants.fp16;
import static org.quant4j.core.io.gguf.GgmlQuants.getU16;
import static org.quant4j.core.io.gguf.GgmlQuants.putF16;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.GROUP_MAX_EPS;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.makeQ3Quants;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.makeQkx2Quants;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.makeQkx3Quants;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.makeQpQuants;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.makeQxQuants;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.nearestInt;

import java.util.Arrays;

/**
 * The K-quants of llama.cpp's {@code ggml/src/ggml-quants.c}: super-blocks of 256 values in sub-blocks of 16 or 32
 * whose scales (and mins) are themselves quantized against one or two fp16 super-block scales. For each type the
 * reference row ({@code quantize_row_qN_K_ref}), the importance-weighted row ({@code quantize_row_qN_K_impl}, which
 * {@code quantize_qN_K} runs when given an importance matrix) and {@code dequantize_row_qN_K}, one super-block per
 * call, with the block layouts of {@code ggml-common.h} (all fp16 little endian):
 * <ul>
 *   <li>Q2_K, 84 bytes: {@code scales[16]} (4-bit scale low, 4-bit min high), {@code qs[64]} (2-bit codes),
 *       fp16 {@code d}, fp16 {@code dmin}; {@code x = d·sc·q − dmin·m}.</li>
 *   <li>Q3_K, 110 bytes: {@code hmask[32]} (high bit), {@code qs[64]} (low 2 bits), {@code scales[12]} (sixteen
 *       6-bit scales, offset 32), fp16 {@code d}; {@code x = d·(sc−32)·(q−4)}.</li>
 *   <li>Q4_K, 144 bytes: fp16 {@code d}, fp16 {@code dmin}, {@code scales[12]} (eight 6-bit scales and mins,
 *       {@code get_scale_min_k4}), {@code qs[128]}; {@code x = d·sc·q − dmin·m}.</li>
 *   <li>Q5_K, 176 bytes: as Q4_K plus {@code qh[32]} (fifth bit) before {@code qs[128]}.</li>
 *   <li>Q6_K, 210 bytes: {@code ql[128]} (low 4 bits), {@code qh[64]} (high 2 bits), int8 {@code scales[16]},
 *       fp16 {@code d}; {@code x = d·sc·(q−32)}.</li>
 * </ul>
 * Float arithmetic is float as in ggml, so the bytes equal llama.cpp's; the golden vectors of
 * {@code core/src/test/resources/ggml-golden} check that. Inputs are checked finite by {@link GgmlQuants}.
 */
final class KQuants {
    static final int QK_K = 256;

    private KQuants() {}

    // ---------------------------------------------------------------- Q2_K

    /** {@code quantize_row_q2_K_ref}, one super-block. */
    static void quantizeQ2K(float[] x, int xo, byte[] out, int o) {
        int[] L = new int[QK_K];
        int[] laux = new int[16];
        float[] weights = new float[16];
        float[] mins = new float[QK_K / 16];
        float[] scales = new float[QK_K / 16];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) weights[l] = Math.abs(x[xo + 16 * j + l]);
            scales[j] = makeQkx2Quants(16, 3, x, xo + 16 * j, weights, L, 16 * j, mins, j, laux, -0.5f, 0.1f, 15, true);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        if (maxScale > 0) {
            float iscale = 15f / maxScale;
            for (int j = 0; j < QK_K / 16; ++j) out[o + j] = (byte) nearestInt(iscale * scales[j]);
            putF16(out, o + 80, maxScale / 15f);
        } else {
            Arrays.fill(out, o, o + 16, (byte) 0);
            putF16(out, o + 80, 0f);
        }
        if (maxMin > 0) {
            float iscale = 15f / maxMin;
            for (int j = 0; j < QK_K / 16; ++j) out[o + j] |= (byte) (nearestInt(iscale * mins[j]) << 4);
            putF16(out, o + 82, maxMin / 15f);
        } else {
            putF16(out, o + 82, 0f);
        }
        requantizeQ2K(x, xo, out, o, L);
    }

    /** {@code quantize_row_q2_K_impl}, one super-block with its 256 importances {@code qw[qo..]}. */
    static void quantizeQ2KWeighted(float[] x, int xo, float[] qw, int qo, byte[] out, int o) {
        int[] L = new int[QK_K];
        int[] laux = new int[16];
        float[] mins = new float[QK_K / 16];
        float[] scales = new float[QK_K / 16];
        float[] sw = new float[QK_K / 16];
        float[] weight = new float[16];
        int[] ls = new int[QK_K / 16];
        int[] lm = new int[QK_K / 16];
        float sigma2 = sumOfSquares(x, xo, QK_K) / QK_K;
        for (int j = 0; j < QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) {
                float v = x[xo + 16 * j + l];
                weight[l] = qw[qo + 16 * j + l] * (float) Math.sqrt(sigma2 + v * v);
            }
            for (int l = 0; l < 16; ++l) sw[j] += weight[l];
            scales[j] = makeQkx3Quants(16, 3, x, xo + 16 * j, weight, L, 16 * j, mins, j, laux, -0.9f, 0.05f, 36, false);
        }
        float dm = makeQpQuants(QK_K / 16, 15, scales, ls, sw);
        float mm = makeQpQuants(QK_K / 16, 15, mins, lm, sw);
        putF16(out, o + 80, dm);
        putF16(out, o + 82, mm);
        for (int j = 0; j < QK_K / 16; ++j) out[o + j] = (byte) (ls[j] | lm[j] << 4);
        requantizeQ2K(x, xo, out, o, L);
    }

    /** The codes of Q2_K against the stored scales and mins, then packed (both Q2_K rows end so). */
    private static void requantizeQ2K(float[] x, int xo, byte[] out, int o, int[] L) {
        float d16 = fp16(out, o + 80);
        float m16 = fp16(out, o + 82);
        for (int j = 0; j < QK_K / 16; ++j) {
            float d = d16 * (out[o + j] & 0xF);
            if (d == 0) continue;
            float dm = m16 * ((out[o + j] & 0xFF) >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt((x[xo + 16 * j + ii] + dm) / d);
                L[16 * j + ii] = Math.max(0, Math.min(3, l));
            }
        }
        pack2Bits(L, out, o + 16);
    }

    static void dequantizeQ2K(byte[] in, int o, float[] y, int yo) {
        float d = fp16(in, o + 80);
        float min = fp16(in, o + 82);
        int q = o + 16;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                for (int half = 0; half < 2; half++) {
                    int sc = in[o + is++] & 0xFF;
                    float dl = d * (sc & 0xF);
                    float ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) y[yo++] = dl * ((in[q + 16 * half + l] >> shift) & 3) - ml;
                }
                shift += 2;
            }
            q += 32;
        }
    }

    // ---------------------------------------------------------------- Q3_K

    /** {@code quantize_row_q3_K_ref}, one super-block. */
    static void quantizeQ3K(float[] x, int xo, byte[] out, int o) {
        int[] L = new int[QK_K];
        float[] scales = new float[QK_K / 16];
        float maxScale = 0;
        float amax = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            scales[j] = makeQ3Quants(16, 4, x, xo + 16 * j, L, 16 * j, true);
            float scale = Math.abs(scales[j]);
            if (scale > amax) {
                amax = scale;
                maxScale = scales[j];
            }
        }
        Arrays.fill(out, o + 96, o + 108, (byte) 0);
        if (maxScale != 0) {
            float iscale = -32f / maxScale;
            for (int j = 0; j < QK_K / 16; ++j) {
                int l = (byte) nearestInt(iscale * scales[j]); // int8_t
                packQ3Scale(out, o + 96, j, Math.max(-32, Math.min(31, l)) + 32);
            }
            putF16(out, o + 108, 1 / iscale);
        } else {
            putF16(out, o + 108, 0f);
        }
        requantizeQ3K(x, xo, out, o, L);
    }

    /** {@code quantize_row_q3_K_impl}, one super-block with its 256 importances {@code qw[qo..]} (null: x²). */
    static void quantizeQ3KWeighted(float[] x, int xo, float[] qw, int qo, byte[] out, int o) {
        int[] L = new int[QK_K];
        float[] scales = new float[QK_K / 16];
        float[] weight = new float[16];
        float[] sw = new float[QK_K / 16];
        int[] ls = new int[QK_K / 16];
        float sigma2 = 2 * sumOfSquares(x, xo, QK_K) / QK_K;
        for (int j = 0; j < QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) {
                float v = x[xo + 16 * j + l];
                weight[l] = qw != null ? qw[qo + 16 * j + l] * (float) Math.sqrt(sigma2 + v * v) : v * v;
            }
            float sumw = 0;
            for (int l = 0; l < 16; ++l) sumw += weight[l];
            sw[j] = sumw;
            scales[j] = makeQxQuants(16, 4, x, xo + 16 * j, L, 16 * j, 1, weight, 0);
        }
        Arrays.fill(out, o + 96, o + 108, (byte) 0);
        float dBlock = makeQxQuants(QK_K / 16, 32, scales, 0, ls, 0, 1, sw, 0);
        for (int j = 0; j < QK_K / 16; ++j) packQ3Scale(out, o + 96, j, ls[j]);
        putF16(out, o + 108, dBlock);
        requantizeQ3K(x, xo, out, o, L);
    }

    /** Scale {@code j} (6 bits, {@code 0..63}) into {@code scales[12]}: low 4 bits in nibbles, high 2 bits after. */
    private static void packQ3Scale(byte[] out, int s, int j, int l) {
        if (j < 8) {
            out[s + j] = (byte) (l & 0xF);
        } else {
            out[s + j - 8] |= (byte) ((l & 0xF) << 4);
        }
        out[s + j % 4 + 8] |= (byte) ((l >> 4) << (2 * (j / 4)));
    }

    /** Scale {@code j} of {@code scales[12]} minus 32. */
    private static int q3Scale(byte[] in, int s, int j) {
        int sc = j < 8 ? in[s + j] & 0xF : (in[s + j - 8] & 0xFF) >> 4;
        return (sc | (((in[s + 8 + j % 4] & 0xFF) >> (2 * (j / 4))) & 3) << 4) - 32;
    }

    /** The codes of Q3_K against the stored scales, then hmask and qs (both Q3_K rows end so). */
    private static void requantizeQ3K(float[] x, int xo, byte[] out, int o, int[] L) {
        float d16 = fp16(out, o + 108);
        for (int j = 0; j < QK_K / 16; ++j) {
            float d = d16 * q3Scale(out, o + 96, j);
            if (d == 0) continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[xo + 16 * j + ii] / d);
                L[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
            }
        }
        Arrays.fill(out, o, o + QK_K / 8, (byte) 0);
        int m = 0;
        int hm = 1;
        for (int j = 0; j < QK_K; ++j) {
            if (L[j] > 3) {
                out[o + m] |= (byte) hm;
                L[j] -= 4;
            }
            if (++m == QK_K / 8) {
                m = 0;
                hm <<= 1;
            }
        }
        pack2Bits(L, out, o + 32);
    }

    static void dequantizeQ3K(byte[] in, int o, float[] y, int yo) {
        float dAll = fp16(in, o + 108);
        int q = o + 32;
        int m = 1;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                for (int half = 0; half < 2; half++) {
                    float dl = dAll * q3Scale(in, o + 96, is++);
                    for (int l = 0; l < 16; ++l) {
                        int k = 16 * half + l;
                        y[yo++] = dl * (((in[q + k] >> shift) & 3) - ((in[o + k] & m) != 0 ? 0 : 4));
                    }
                }
                shift += 2;
                m <<= 1;
            }
            q += 32;
        }
    }

    // ---------------------------------------------------------------- Q4_K and Q5_K

    /** {@code quantize_row_q4_K_ref}, one super-block. */
    static void quantizeQ4K(float[] x, int xo, byte[] out, int o) {
        int[] L = new int[QK_K];
        scalesAndMinsRef(x, xo, 15, -1f, 0.1f, 20, out, o, L);
        requantizeWithMins(x, xo, 15, out, o, L);
        int q = o + 16;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; ++l) out[q + l] = (byte) (L[j + l] | L[j + l + 32] << 4);
            q += 32;
        }
    }

    /** {@code quantize_row_q5_K_ref}, one super-block. */
    static void quantizeQ5K(float[] x, int xo, byte[] out, int o) {
        int[] L = new int[QK_K];
        scalesAndMinsRef(x, xo, 31, -0.5f, 0.1f, 15, out, o, L);
        requantizeWithMins(x, xo, 31, out, o, L);
        packQ5K(L, out, o);
    }

    /** {@code quantize_row_q4_K_impl}, one super-block with its 256 importances {@code qw[qo..]} (null: ggml's own). */
    static void quantizeQ4KWeighted(float[] x, int xo, float[] qw, int qo, byte[] out, int o) {
        int[] L = new int[QK_K];
        scalesAndMinsWeighted(x, xo, qw, qo, 15, false, out, o, L);
        requantizeWithMins(x, xo, 15, out, o, L);
        int q = o + 16;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; ++l) out[q + l] = (byte) (L[j + l] | L[j + l + 32] << 4);
            q += 32;
        }
    }

    /** {@code quantize_row_q5_K_impl}, one super-block with its 256 importances {@code qw[qo..]} (null: ggml's own). */
    static void quantizeQ5KWeighted(float[] x, int xo, float[] qw, int qo, byte[] out, int o) {
        int[] L = new int[QK_K];
        scalesAndMinsWeighted(x, xo, qw, qo, 31, true, out, o, L);
        requantizeWithMins(x, xo, 31, out, o, L);
        packQ5K(L, out, o);
    }

    /**
     * The reference Q4_K / Q5_K sub-block fit ({@code make_qkx2_quants}, weights {@code av_x + |x|}) and its
     * 6-bit scales and mins against {@code d = max_scale/63}, {@code dmin = max_min/63}.
     */
    private static void scalesAndMinsRef(float[] x, int xo, int nmax, float rmin, float rdelta, int nstep,
                                         byte[] out, int o, int[] L) {
        int[] laux = new int[32];
        float[] weights = new float[32];
        float[] mins = new float[QK_K / 32];
        float[] scales = new float[QK_K / 32];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < QK_K / 32; ++j) {
            float avX = (float) Math.sqrt(sumOfSquares(x, xo + 32 * j, 32) / 32);
            for (int l = 0; l < 32; ++l) weights[l] = avX + Math.abs(x[xo + 32 * j + l]);
            scales[j] = makeQkx2Quants(32, nmax, x, xo + 32 * j, weights, L, 32 * j, mins, j, laux, rmin, rdelta,
                    nstep, false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        for (int j = 0; j < QK_K / 32; ++j) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF); // uint8_t, then MIN(63, ...)
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            packScaleMin(out, o + 4, j, ls, lm);
        }
        putF16(out, o, maxScale / 63f);
        putF16(out, o + 2, maxMin / 63f);
    }

    /**
     * The weighted Q4_K / Q5_K sub-block fit ({@code make_qkx3_quants}, weights {@code qw·sqrt(σ² + x²)}) and its
     * scales and mins by {@code make_qp_quants} (Q5_K clamps them to 63, Q4_K does not, as in ggml).
     */
    private static void scalesAndMinsWeighted(float[] x, int xo, float[] qw, int qo, int nmax, boolean clamp,
                                              byte[] out, int o, int[] L) {
        int[] laux = new int[32];
        int[] ls = new int[QK_K / 32];
        int[] lm = new int[QK_K / 32];
        float[] weights = new float[32];
        float[] sw = new float[QK_K / 32];
        float[] mins = new float[QK_K / 32];
        float[] scales = new float[QK_K / 32];
        float sigma2 = 2 * sumOfSquares(x, xo, QK_K) / QK_K;
        float avX = (float) Math.sqrt(sigma2);
        for (int j = 0; j < QK_K / 32; ++j) {
            for (int l = 0; l < 32; ++l) {
                float v = x[xo + 32 * j + l];
                weights[l] = qw != null ? qw[qo + 32 * j + l] * (float) Math.sqrt(sigma2 + v * v) : avX + Math.abs(v);
            }
            float sumw = 0;
            for (int l = 0; l < 32; ++l) sumw += weights[l];
            sw[j] = sumw;
            scales[j] = makeQkx3Quants(32, nmax, x, xo + 32 * j, weights, L, 32 * j, mins, j, laux, -0.9f, 0.05f,
                    36, false);
        }
        float dBlock = makeQpQuants(QK_K / 32, 63, scales, ls, sw);
        float mBlock = makeQpQuants(QK_K / 32, 63, mins, lm, sw);
        for (int j = 0; j < QK_K / 32; ++j) {
            packScaleMin(out, o + 4, j, clamp ? Math.min(63, ls[j]) : ls[j], clamp ? Math.min(63, lm[j]) : lm[j]);
        }
        putF16(out, o, dBlock);
        putF16(out, o + 2, mBlock);
    }

    /** Scale and min {@code j} of eight into {@code scales[12]} at {@code s}, as the K-quant rows store them. */
    private static void packScaleMin(byte[] out, int s, int j, int ls, int lm) {
        if (j < 4) {
            out[s + j] = (byte) ls;
            out[s + j + 4] = (byte) lm;
        } else {
            out[s + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
            out[s + j - 4] |= (byte) ((ls >> 4) << 6);
            out[s + j] |= (byte) ((lm >> 4) << 6);
        }
    }

    /** {@code get_scale_min_k4}: the 6-bit scale of sub-block {@code j}. */
    private static int scaleK4(byte[] q, int s, int j) {
        return j < 4 ? q[s + j] & 63 : (q[s + j + 4] & 0xF) | (((q[s + j - 4] & 0xFF) >> 6) << 4);
    }

    /** {@code get_scale_min_k4}: the 6-bit min of sub-block {@code j}. */
    private static int minK4(byte[] q, int s, int j) {
        return j < 4 ? q[s + j + 4] & 63 : ((q[s + j + 4] & 0xFF) >> 4) | (((q[s + j] & 0xFF) >> 6) << 4);
    }

    /** The codes {@code 0..nmax} of Q4_K / Q5_K against the stored scales and mins. */
    private static void requantizeWithMins(float[] x, int xo, int nmax, byte[] out, int o, int[] L) {
        float d16 = fp16(out, o);
        float m16 = fp16(out, o + 2);
        for (int j = 0; j < QK_K / 32; ++j) {
            float d = d16 * scaleK4(out, o + 4, j);
            if (d == 0) continue;
            float dm = m16 * minK4(out, o + 4, j);
            for (int ii = 0; ii < 32; ++ii) {
                int l = nearestInt((x[xo + 32 * j + ii] + dm) / d);
                L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
            }
        }
    }

    private static void packQ5K(int[] L, byte[] out, int o) {
        int qh = o + 16;
        int ql = o + 48;
        Arrays.fill(out, qh, qh + QK_K / 8, (byte) 0);
        int m1 = 1;
        int m2 = 2;
        for (int n = 0; n < QK_K; n += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[n + j];
                if (l1 > 15) {
                    l1 -= 16;
                    out[qh + j] |= (byte) m1;
                }
                int l2 = L[n + j + 32];
                if (l2 > 15) {
                    l2 -= 16;
                    out[qh + j] |= (byte) m2;
                }
                out[ql + j] = (byte) (l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
            ql += 32;
        }
    }

    static void dequantizeQ4K(byte[] in, int o, float[] y, int yo) {
        dequantizeWithMins(in, o, y, yo, false);
    }

    static void dequantizeQ5K(byte[] in, int o, float[] y, int yo) {
        dequantizeWithMins(in, o, y, yo, true);
    }

    /** {@code dequantize_row_q4_K} / {@code dequantize_row_q5_K}. */
    private static void dequantizeWithMins(byte[] in, int o, float[] y, int yo, boolean fifthBit) {
        float d = fp16(in, o);
        float min = fp16(in, o + 2);
        int q = o + (fifthBit ? 48 : 16);
        int qh = o + 16;
        int u1 = 1;
        int u2 = 2;
        for (int is = 0; is < QK_K / 32; is += 2) {
            float d1 = d * scaleK4(in, o + 4, is);
            float m1 = min * minK4(in, o + 4, is);
            float d2 = d * scaleK4(in, o + 4, is + 1);
            float m2 = min * minK4(in, o + 4, is + 1);
            for (int l = 0; l < 32; ++l) {
                int hi = fifthBit && (in[qh + l] & u1) != 0 ? 16 : 0;
                y[yo++] = d1 * ((in[q + l] & 0xF) + hi) - m1;
            }
            for (int l = 0; l < 32; ++l) {
                int hi = fifthBit && (in[qh + l] & u2) != 0 ? 16 : 0;
                y[yo++] = d2 * (((in[q + l] & 0xFF) >> 4) + hi) - m2;
            }
            q += 32;
            u1 <<= 2;
            u2 <<= 2;
        }
    }

    // ---------------------------------------------------------------- Q6_K

    /** {@code quantize_row_q6_K_ref}, one super-block. */
    static void quantizeQ6K(float[] x, int xo, byte[] out, int o) {
        quantizeQ6KWeighted(x, xo, null, 0, out, o);
    }

    /**
     * {@code quantize_row_q6_K_impl}, one super-block with its 256 importances {@code qw[qo..]} used as the weights
     * of {@code make_qx_quants} as they are (ggml does not scale them by {@code sqrt(σ² + x²)} here); null gives
     * {@code quantize_row_q6_K_ref}.
     */
    static void quantizeQ6KWeighted(float[] x, int xo, float[] qw, int qo, byte[] out, int o) {
        int[] L = new int[QK_K];
        float[] scales = new float[QK_K / 16];
        float maxScale = 0;
        float maxAbsScale = 0;
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            float scale = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib, 1, qw, qo + 16 * ib);
            scales[ib] = scale;
            float absScale = Math.abs(scale);
            if (absScale > maxAbsScale) {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }
        if (maxAbsScale < GROUP_MAX_EPS) {
            Arrays.fill(out, o, o + 210, (byte) 0);
            return;
        }
        float iscale = -128f / maxScale;
        putF16(out, o + 208, 1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            out[o + 192 + ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
        }
        float d16 = fp16(out, o + 208);
        for (int j = 0; j < QK_K / 16; ++j) {
            float d = d16 * out[o + 192 + j];
            if (d == 0) continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[xo + 16 * j + ii] / d);
                L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
            }
        }
        int ql = o;
        int qh = o + 128;
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                int q1 = L[j + l] & 0xF;
                int q2 = L[j + l + 32] & 0xF;
                int q3 = L[j + l + 64] & 0xF;
                int q4 = L[j + l + 96] & 0xF;
                out[ql + l] = (byte) (q1 | q3 << 4);
                out[ql + l + 32] = (byte) (q2 | q4 << 4);
                out[qh + l] = (byte) ((L[j + l] >> 4) | (L[j + l + 32] >> 4) << 2 | (L[j + l + 64] >> 4) << 4
                        | (L[j + l + 96] >> 4) << 6);
            }
            ql += 64;
            qh += 32;
        }
    }

    static void dequantizeQ6K(byte[] in, int o, float[] y, int yo) {
        float d = fp16(in, o + 208);
        int ql = o;
        int qh = o + 128;
        int sc = o + 192;
        for (int n = 0; n < QK_K; n += 128) {
            for (int l = 0; l < 32; ++l) {
                int is = l / 16;
                int h = in[qh + l] & 0xFF;
                int q1 = ((in[ql + l] & 0xF) | ((h & 3) << 4)) - 32;
                int q2 = ((in[ql + l + 32] & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                int q3 = (((in[ql + l] & 0xFF) >> 4) | (((h >> 4) & 3) << 4)) - 32;
                int q4 = (((in[ql + l + 32] & 0xFF) >> 4) | (((h >> 6) & 3) << 4)) - 32;
                y[yo + l] = d * in[sc + is] * q1;
                y[yo + l + 32] = d * in[sc + is + 2] * q2;
                y[yo + l + 64] = d * in[sc + is + 4] * q3;
                y[yo + l + 96] = d * in[sc + is + 6] * q4;
            }
            yo += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }

    // ---------------------------------------------------------------- shared

    /** The 2-bit codes of Q2_K / Q3_K into {@code qs[64]}: four 32-value runs of each 128 per byte. */
    private static void pack2Bits(int[] L, byte[] out, int qs) {
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                out[qs + j / 4 + l] = (byte) (L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
            }
        }
    }

    /** {@code Σ x²} in float, in order, as ggml's loops. */
    static float sumOfSquares(float[] x, int xo, int n) {
        float s = 0;
        for (int l = 0; l < n; ++l) s += x[xo + l] * x[xo + l];
        return s;
    }
}
