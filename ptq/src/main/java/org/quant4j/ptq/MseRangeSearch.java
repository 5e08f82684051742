package org.quant4j.ptq;

import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.formats.IntGrid;

/**
 * Range search by quantization error, as GPTQ's {@code Quantizer.find_params} with {@code mse=True}
 * (IST-DASLab/gptq {@code quant.py}; defaults {@code grid=100, maxshrink=0.8, norm=2.4}): the block's
 * range {@code [min, max]} (widened to contain 0) is shrunk to {@code p·[min, max]} for
 * {@code p = 1 - i/grid}, {@code 0 <= i < ⌊maxShrink·grid⌋}; each candidate grid is
 * fitted with {@link IntGrid#fitRange} (so a symmetric grid keeps its fixed zero point and an asymmetric
 * one re-rounds its zero point, as the reference does) and scored by {@code Σ |q(x) - x|^norm}; the
 * first lowest score wins. The full range is a candidate, so the result never scores worse than min-max.
 */
final class MseRangeSearch implements RangeSearch {
    static final int DEFAULT_GRID = 100;
    static final double DEFAULT_MAX_SHRINK = 0.8;
    static final double DEFAULT_NORM = 2.4;

    private final int grid;
    private final int candidates;
    private final double norm;

    MseRangeSearch(int grid, double maxShrink, double norm) {
        if (grid < 1 || !(maxShrink > 0 && maxShrink < 1) || !(norm > 0) || Double.isInfinite(norm)) {
            throw new InvalidSpecException("MSE range search needs grid >= 1, 0 < maxShrink < 1 and a finite norm > 0;"
                    + " got grid=" + grid + ", maxShrink=" + maxShrink + ", norm=" + norm);
        }
        this.grid = grid;
        this.candidates = Math.max(1, (int) Math.floor(maxShrink * grid));
        this.norm = norm;
    }

    @Override
    public IntGrid.Params fit(IntGrid intGrid, float[] data, int offset, int length) {
        float min = 0f;
        float max = 0f;
        for (int i = offset, end = offset + length; i < end; i++) {
            min = Math.min(min, data[i]);
            max = Math.max(max, data[i]);
        }
        IntGrid.Params best = intGrid.fitRange(min, max);
        double bestError = error(intGrid, best, data, offset, length, Double.POSITIVE_INFINITY);
        for (int i = 1; i < candidates; i++) {
            float p = 1f - (float) i / grid;
            IntGrid.Params candidate = intGrid.fitRange(p * min, p * max);
            double e = error(intGrid, candidate, data, offset, length, bestError);
            if (e < bestError) {
                bestError = e;
                best = candidate;
            }
        }
        return best;
    }

    /** {@code Σ |q(x) - x|^norm}, abandoned (returning a value >= bound) once it reaches {@code bound}. */
    private double error(IntGrid intGrid, IntGrid.Params p, float[] data, int offset, int length, double bound) {
        float scale = p.scale();
        float zero = p.zero();
        double sum = 0;
        int end = offset + length;
        for (int i0 = offset; i0 < end; i0 += 64) {
            for (int i = i0, e = Math.min(end, i0 + 64); i < e; i++) {
                double d = Math.abs(intGrid.fakeQuantize(data[i], scale, zero) - data[i]);
                sum += norm == 2 ? d * d : Math.pow(d, norm);
            }
            if (sum >= bound) {
                return sum;
            }
        }
        return sum;
    }

    @Override
    public String toString() {
        return "mse(grid=" + grid + ", candidates=" + candidates + ", norm=" + norm + ")";
    }
}
