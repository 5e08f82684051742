package org.quant4j.core.io.gguf;

import static org.quant4j.core.io.gguf.GgmlQuants.fp16;
import static org.quant4j.core.io.gguf.GgmlQuants.putF16;
import static org.quant4j.core.io.gguf.GgmlQuants.getU16;
import static org.quant4j.core.io.gguf.GgmlQuants.putU16;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.GROUP_MAX_EPS;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.bestIndexInt8;
import static org.quant4j.core.io.gguf.GgmlScaleSearch.nearestInt;

import java.util.Arrays;

/**
 * The 4-bit non-linear types of llama.cpp's {@code ggml/src/ggml-quants.c}: codes index the 16-value grid
 * {@code kvalues_iq4nl} of {@code ggml-common.h}, both quantized by {@code quantize_row_iq4_nl_impl}.
 * <ul>
 *   <li>IQ4_NL, 18 bytes per 32 values: fp16 {@code d}, {@code qs[16]} (value {@code j} in the low nibble of byte
 *       {@code j}, value {@code j+16} in the high nibble); {@code x = d·kvalues[q]}.</li>
 *   <li>IQ4_XS, 136 bytes per 256: fp16 {@code d}, uint16 {@code scales_h} (high 2 bits of eight 6-bit sub-block
 *       scales), {@code scales_l[4]} (their low nibbles), {@code qs[128]} (eight IQ4_NL-packed runs of 32);
 *       {@code x = d·(ls−32)·kvalues[q]}.</li>
 * </ul>
 * {@code ntry} selects ggml's variant: {@code quantize_row_iq4_nl_ref} uses −1 (the scale {@code max/−127}
 * refined once, no search); {@code quantize_iq4_nl} / {@code quantize_iq4_xs} (with or without an importance
 * matrix) and {@code quantize_row_iq4_xs_ref} use 7 (fifteen candidate scales).
 */
final class IQuants {
    /** {@code kvalues_iq4nl}. */
    static final int[] KVALUES_IQ4NL = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** {@code ntry} of {@code quantize_row_iq4_nl_ref}. */
    static final int NTRY_REF = -1;
    /** {@code ntry} of {@code quantize_iq4_nl} and {@code quantize_iq4_xs}. */
    static final int NTRY_SEARCH = 7;

    private IQuants() {}

    /**
     * One IQ4_NL block ({@code quantize_row_iq4_nl_impl} with a super-block of 32). {@code codes} (32) is the code
     * buffer ggml keeps across the blocks of one call: where the reference row ({@code ntry} ≤ 0) meets an all-zero
     * block it packs the codes left there by the previous block (ggml: whatever its stack held, for the first one),
     * with {@code d = 0} they dequantize to zeros either way.
     */
    static void quantizeIq4Nl(float[] x, int xo, float[] qw, int qo, int ntry, int[] codes, byte[] out, int o) {
        quantizeIq4(32, x, xo, qw, qo, ntry, codes, out, o);
    }

    /** One IQ4_XS super-block ({@code quantize_row_iq4_nl_impl} with a super-block of 256, {@code ntry} 7). */
    static void quantizeIq4Xs(float[] x, int xo, float[] qw, int qo, byte[] out, int o) {
        quantizeIq4(256, x, xo, qw, qo, NTRY_SEARCH, new int[256], out, o);
    }

    private static void quantizeIq4(int superBlockSize, float[] x, int xo, float[] qw, int qo, int ntry, int[] L,
                                    byte[] out, int o) {
        int nb = superBlockSize / 32;
        int q4 = o + (nb > 1 ? 8 : 2);
        float sigma2 = KQuants.sumOfSquares(x, xo, superBlockSize);
        sigma2 *= 2f / superBlockSize;
        Arrays.fill(out, q4, q4 + superBlockSize / 2, (byte) 0);
        putF16(out, o, 0f);
        float[] weight = new float[32];
        float[] scales = new float[nb];
        int[] values = KVALUES_IQ4NL;
        float maxScale = 0;
        float amaxScale = 0;
        for (int ib = 0; ib < nb; ++ib) {
            int xb = xo + ib * 32;
            for (int j = 0; j < 32; ++j) {
                float v = x[xb + j];
                weight[j] = qw != null ? qw[qo + ib * 32 + j] * (float) Math.sqrt(sigma2 + v * v) : v * v;
            }
            float max = GgmlScaleSearch.largestMagnitude(x, xb, 32);
            if (Math.abs(max) < GROUP_MAX_EPS) {
                scales[ib] = 0;
                continue;
            }
            float d = ntry > 0 ? -max / values[0] : max / values[0];
            float id = 1 / d;
            float sumqx = 0;
            float sumq2 = 0;
            for (int j = 0; j < 32; ++j) {
                int l = bestIndexInt8(16, values, id * x[xb + j]);
                L[ib * 32 + j] = l;
                float q = values[l];
                float w = weight[j];
                sumqx += w * q * x[xb + j];
                sumq2 += w * q * q;
            }
            d = sumq2 > 0 ? sumqx / sumq2 : 0f;
            float best = d * sumqx;
            for (int itry = -ntry; itry <= ntry; ++itry) {
                id = (itry + values[0]) / max;
                sumqx = 0;
                sumq2 = 0;
                for (int j = 0; j < 32; ++j) {
                    float q = values[bestIndexInt8(16, values, id * x[xb + j])];
                    float w = weight[j];
                    sumqx += w * q * x[xb + j];
                    sumq2 += w * q * q;
                }
                if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                    d = sumqx / sumq2;
                    best = d * sumqx;
                }
            }
            scales[ib] = d;
            float absD = Math.abs(d);
            if (absD > amaxScale) {
                amaxScale = absD;
                maxScale = d;
            }
        }
        if (nb > 1) {
            int scalesH = 0;
            float d = -maxScale / 32;
            putF16(out, o, d);
            float id = d != 0 ? 1 / d : 0f;
            for (int ib = 0; ib < nb; ++ib) {
                int l = Math.max(-32, Math.min(31, nearestInt(id * scales[ib])));
                float dl = d * l;
                float idl = dl != 0 ? 1 / dl : 0f;
                for (int j = 0; j < 32; ++j) L[ib * 32 + j] = bestIndexInt8(16, values, idl * x[xo + ib * 32 + j]);
                l += 32;
                int lLow = l & 0xF;
                if (ib % 2 == 0) {
                    out[o + 4 + ib / 2] = (byte) lLow;
                } else {
                    out[o + 4 + ib / 2] |= (byte) (lLow << 4);
                }
                scalesH |= (l >> 4) << (2 * (ib % 8));
            }
            putU16(out, o + 2, scalesH);
        } else {
            putF16(out, o, scales[0]);
            if (ntry > 0) {
                float id = scales[0] != 0 ? 1 / scales[0] : 0;
                for (int j = 0; j < superBlockSize; ++j) L[j] = bestIndexInt8(16, values, id * x[xo + j]);
            }
        }
        for (int i = 0; i < superBlockSize / 32; ++i) {
            for (int j = 0; j < 16; ++j) {
                out[q4 + 16 * i + j] = (byte) (L[32 * i + j] | (L[32 * i + 16 + j] << 4));
            }
        }
    }

    /** {@code dequantize_row_iq4_nl}, one block. */
    static void dequantizeIq4Nl(byte[] in, int o, float[] y, int yo) {
        dequantizeRun(in, o + 2, fp16(in, o), y, yo);
    }

    /** {@code dequantize_row_iq4_xs}, one super-block. */
    static void dequantizeIq4Xs(byte[] in, int o, float[] y, int yo) {
        float d = fp16(in, o);
        int scalesH = getU16(in, o + 2);
        for (int ib = 0; ib < 8; ++ib) {
            int ls = (((in[o + 4 + ib / 2] & 0xFF) >> 4 * (ib % 2)) & 0xF) | (((scalesH >> 2 * ib) & 3) << 4);
            dequantizeRun(in, o + 8 + 16 * ib, d * (ls - 32), y, yo + 32 * ib);
        }
    }

    /** 32 values from 16 bytes of nibbles: low nibbles first, then high nibbles, each {@code d·kvalues[q]}. */
    private static void dequantizeRun(byte[] in, int qs, float d, float[] y, int yo) {
        for (int j = 0; j < 16; ++j) {
            int b = in[qs + j] & 0xFF;
            y[yo + j] = d * KVALUES_IQ4NL[b & 0xF];
            y[yo + 16 + j] = d * KVALUES_IQ4NL[b >> 4];
        }
    }
}
