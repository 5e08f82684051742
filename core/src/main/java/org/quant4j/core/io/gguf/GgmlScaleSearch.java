package org.quant4j.core.io.gguf;

/**
 * The scale (and min) searches of llama.cpp's {@code ggml/src/ggml-quants.c} that the K-quants, IQ4 and the
 * importance-weighted legacy types share: {@code nearest_int}, {@code make_qx_quants}, {@code make_q3_quants},
 * {@code make_qkx2_quants}, {@code make_qkx3_quants}, {@code make_qp_quants} and {@code best_index_int8}, line for
 * line in float arithmetic (Java's float operations are IEEE binary32 as ggml's without FMA contraction), so that
 * every code and scale equals ggml's bit for bit.
 *
 * <p>Codes go into {@code int[]} arrays holding the value that ggml's {@code int8_t} / {@code uint8_t} array holds
 * (wrapped to the C type where ggml stores a value outside it), and are read back from there where ggml reads its
 * array. {@code x}, {@code L} and the weights are addressed by offset.
 */
final class GgmlScaleSearch {
    /** {@code GROUP_MAX_EPS}: a group whose largest magnitude is below it is all zero. */
    static final float GROUP_MAX_EPS = 1e-15f;

    private GgmlScaleSearch() {}

    /** {@code nearest_int}: rounds to nearest, ties to even, through the float bits of {@code fval + 1.5·2^23}. */
    static int nearestInt(float fval) {
        int i = Float.floatToRawIntBits(fval + 12582912f);
        return (i & 0x007fffff) - 0x00400000;
    }

    /** The first value of {@code x[xo..xo+n)} of largest magnitude (0 if all are 0), as ggml's {@code amax} loops. */
    static float largestMagnitude(float[] x, int xo, int n) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; ++i) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        return max;
    }

    /** C's {@code MAX(a, b)}: {@code a > b ? a : b} (which, unlike {@link Math#max}, keeps {@code b = -0} against 0). */
    static float cMax(float a, float b) {
        return a > b ? a : b;
    }

    /**
     * {@code make_qx_quants}: symmetric codes {@code L = l + nmax} with {@code l} in {@code [-nmax, nmax)} and the
     * scale, by weighted least squares over 19 candidate inverse scales. Weights {@code qw} when not null, else
     * by {@code rmseType} (1: x², 2: 1, 3: |x|, other: sqrt|x|); {@code rmseType} 0 rounds with {@code -nmax/max}
     * only, a negative one returns after the first candidate.
     */
    static float makeQxQuants(int n, int nmax, float[] x, int xo, int[] L, int lo, int rmseType,
                              float[] qw, int qo) {
        float max = largestMagnitude(x, xo, n);
        if (Math.abs(max) < GROUP_MAX_EPS) {
            for (int i = 0; i < n; ++i) L[lo + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        if (rmseType == 0) {
            for (int i = 0; i < n; ++i) {
                int l = nearestInt(iscale * x[xo + i]);
                L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
            }
            return 1 / iscale;
        }
        boolean returnEarly = false;
        if (rmseType < 0) {
            rmseType = -rmseType;
            returnEarly = true;
        }
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; ++i) {
            float xi = x[xo + i];
            int l = nearestInt(iscale * xi);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            L[lo + i] = l + nmax;
            float w = qxWeight(qw, qo + i, rmseType, xi);
            sumlx += w * xi * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        if (returnEarly) {
            return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
        }
        float best = scale * sumlx;
        for (int is = -9; is <= 9; ++is) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; ++i) {
                float xi = x[xo + i];
                int l = nearestInt(iscale * xi);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                float w = qxWeight(qw, qo + i, rmseType, xi);
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; ++i) {
                    int l = nearestInt(iscale * x[xo + i]);
                    L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    private static float qxWeight(float[] qw, int i, int rmseType, float x) {
        if (qw != null) {
            return qw[i];
        }
        return switch (rmseType) {
            case 1 -> x * x;
            case 2 -> 1;
            case 3 -> Math.abs(x);
            default -> (float) Math.sqrt(Math.abs(x));
        };
    }

    /**
     * {@code make_q3_quants}: symmetric codes {@code L = l + nmax} and the scale; with {@code doRmse}, up to five
     * passes that move single codes while the x²-weighted fit improves.
     */
    static float makeQ3Quants(int n, int nmax, float[] x, int xo, int[] L, int lo, boolean doRmse) {
        float max = largestMagnitude(x, xo, n);
        if (Math.abs(max) < GROUP_MAX_EPS) {
            for (int i = 0; i < n; ++i) L[lo + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        if (doRmse) {
            float sumlx = 0;
            float suml2 = 0;
            for (int i = 0; i < n; ++i) {
                float xi = x[xo + i];
                int l = nearestInt(iscale * xi);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                L[lo + i] = l;
                float w = xi * xi;
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            for (int itry = 0; itry < 5; ++itry) {
                int nChanged = 0;
                for (int i = 0; i < n; ++i) {
                    float xi = x[xo + i];
                    float w = xi * xi;
                    float slx = sumlx - w * xi * L[lo + i];
                    if (slx > 0) {
                        float sl2 = suml2 - w * L[lo + i] * L[lo + i];
                        int newL = nearestInt(xi * sl2 / slx);
                        newL = Math.max(-nmax, Math.min(nmax - 1, newL));
                        if (newL != L[lo + i]) {
                            slx += w * xi * newL;
                            sl2 += w * newL * newL;
                            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                                L[lo + i] = newL;
                                sumlx = slx;
                                suml2 = sl2;
                                ++nChanged;
                            }
                        }
                    }
                }
                if (nChanged == 0) {
                    break;
                }
            }
            for (int i = 0; i < n; ++i) L[lo + i] += nmax;
            return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
        }
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[xo + i]);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            L[lo + i] = l + nmax;
        }
        return 1 / iscale;
    }

    /**
     * {@code make_qkx2_quants}: codes {@code 0..nmax}, scale and min of {@code x ≈ scale·L + min} (min ≤ 0, stored
     * negated in {@code theMin[mi]}), the best of {@code nstep + 1} candidate ranges by weighted squared (or, with
     * {@code useMad}, absolute) error.
     */
    static float makeQkx2Quants(int n, int nmax, float[] x, int xo, float[] weights, int[] L, int lo,
                                float[] theMin, int mi, int[] laux, float rmin, float rdelta, int nstep,
                                boolean useMad) {
        return makeQkxQuants(n, nmax, x, xo, weights, L, lo, theMin, mi, laux, rmin, rdelta, nstep, useMad, false);
    }

    /**
     * {@code make_qkx3_quants}: as {@link #makeQkx2Quants} with weights x² when {@code weights} is null, and an
     * all-zero group when {@code max <= min}.
     */
    static float makeQkx3Quants(int n, int nmax, float[] x, int xo, float[] weights, int[] L, int lo,
                                float[] theMin, int mi, int[] laux, float rmin, float rdelta, int nstep,
                                boolean useMad) {
        return makeQkxQuants(n, nmax, x, xo, weights, L, lo, theMin, mi, laux, rmin, rdelta, nstep, useMad, true);
    }

    private static float makeQkxQuants(int n, int nmax, float[] x, int xo, float[] weights, int[] L, int lo,
                                       float[] theMin, int mi, int[] laux, float rmin, float rdelta, int nstep,
                                       boolean useMad, boolean qkx3) {
        float min = x[xo];
        float max = x[xo];
        float sumW = weight(weights, x, xo, 0);
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; ++i) {
            float xi = x[xo + i];
            if (xi < min) min = xi;
            if (xi > max) max = xi;
            float w = weight(weights, x, xo, i);
            sumW += w;
            sumX += w * xi;
        }
        if (min > 0) {
            min = 0;
        }
        if (qkx3 ? max <= min : max == min) {
            for (int i = 0; i < n; ++i) L[lo + i] = 0;
            theMin[mi] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * (x[xo + i] - min));
            L[lo + i] = Math.max(0, Math.min(nmax, l));
            float diff = scale * L[lo + i] + min - x[xo + i];
            diff = useMad ? Math.abs(diff) : diff * diff;
            bestError += weight(weights, x, xo, i) * diff;
        }
        if (nstep < 1) {
            theMin[mi] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; ++is) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXl = 0;
            for (int i = 0; i < n; ++i) {
                int l = nearestInt(iscale * (x[xo + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                laux[i] = l;
                float w = weight(weights, x, xo, i);
                sumL += w * l;
                sumL2 += w * l * l;
                sumXl += w * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; ++i) {
                    float diff = thisScale * laux[i] + thisMin - x[xo + i];
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    curError += weight(weights, x, xo, i) * diff;
                }
                if (curError < bestError) {
                    System.arraycopy(laux, 0, L, lo, n);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[mi] = -min;
        return scale;
    }

    private static float weight(float[] weights, float[] x, int xo, int i) {
        return weights != null ? weights[i] : x[xo + i] * x[xo + i];
    }

    /**
     * {@code make_qp_quants}: codes {@code 0..nmax} of non-negative values (the sub-block scales and mins of the
     * weighted K-quants) and their scale, by {@code quantWeights}-weighted least squares. Codes are stored as
     * {@code uint8_t}, as in ggml.
     */
    static float makeQpQuants(int n, int nmax, float[] x, int[] L, float[] quantWeights) {
        float max = 0;
        for (int i = 0; i < n; ++i) max = cMax(max, x[i]);
        if (max < GROUP_MAX_EPS) {
            for (int i = 0; i < n; ++i) L[i] = 0;
            return 0f;
        }
        float iscale = nmax / max;
        for (int i = 0; i < n; ++i) L[i] = nearestInt(iscale * x[i]) & 0xFF;
        float scale = 1 / iscale;
        float bestMse = 0;
        for (int i = 0; i < n; ++i) {
            float diff = x[i] - scale * L[i];
            bestMse += quantWeights[i] * diff * diff;
        }
        for (int is = -4; is <= 4; ++is) {
            if (is == 0) continue;
            float iscaleIs = (0.1f * is + nmax) / max;
            float scaleIs = 1 / iscaleIs;
            float mse = 0;
            for (int i = 0; i < n; ++i) {
                int l = Math.min(nmax, nearestInt(iscaleIs * x[i]));
                float diff = x[i] - scaleIs * l;
                mse += quantWeights[i] * diff * diff;
            }
            if (mse < bestMse) {
                bestMse = mse;
                iscale = iscaleIs;
            }
        }
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = Math.min(nmax, nearestInt(iscale * x[i]));
            L[i] = l & 0xFF;
            float w = quantWeights[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int itry = 0; itry < 5; ++itry) {
            int nChanged = 0;
            for (int i = 0; i < n; ++i) {
                float w = quantWeights[i];
                float slx = sumlx - w * x[i] * L[i];
                float sl2 = suml2 - w * L[i] * L[i];
                if (slx > 0 && sl2 > 0) {
                    int newL = Math.min(nmax, nearestInt(x[i] * sl2 / slx));
                    if (newL != L[i]) {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                            L[i] = newL & 0xFF;
                            sumlx = slx;
                            suml2 = sl2;
                            ++nChanged;
                        }
                    }
                }
            }
            if (nChanged == 0) {
                break;
            }
        }
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }

    /** {@code best_index_int8}: the index of the value of the sorted {@code values} nearest to {@code x}. */
    static int bestIndexInt8(int n, int[] values, float x) {
        if (x <= values[0]) return 0;
        if (x >= values[n - 1]) return n - 1;
        int ml = 0;
        int mu = n - 1;
        while (mu - ml > 1) {
            int mav = (ml + mu) / 2;
            if (x < values[mav]) mu = mav;
            else ml = mav;
        }
        return x - values[mu - 1] < values[mu] - x ? mu - 1 : mu;
    }
}
