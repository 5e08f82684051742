package org.quant4j.calibration.observer;

import java.util.Objects;
import org.quant4j.core.formats.IntGrid;

/**
 * MSE calibration: the range whose integer grid minimises the quantization error of the collected histogram,
 * {@code Σ_bins count · (q(centre) - centre)²} with {@code q} core's {@link IntGrid} fitted to the candidate
 * range exactly as the quantizer will fit it (TensorRT pytorch-quantization {@code calib/histogram.py},
 * {@code _compute_amax_mse}, which scores bin centres the same way over candidate {@code amax} values).
 * Candidates: a greedy path from the full histogram inwards in the spirit of PyTorch's
 * {@code HistogramObserver._non_linear_param_search} (which moves the bound that a quantile step moves further,
 * i.e. the sparser tail): each step moves one bound to the next non-empty bin, on the side whose outermost bin
 * holds fewer values (ties: the side farther from zero). Every range on the path is scored and the best kept
 * (PyTorch stops at the first increase of its smoothed error and, with fewer than {@code 1/stepsize} values,
 * never moves the lower bound; the exact error of low-bit grids is jagged). The full range is the first
 * candidate, so the result's histogram error is never above the min-max range's. Cost: at most {@code bins}
 * error evaluations of {@code O(bins)} each per range computation.
 */
public final class MseObserver extends HistogramObserver {
    private final IntGrid grid;

    /**
     * @param grid        the grid the range will be fitted to (bits, symmetric or not, encodings)
     * @param bins        histogram bins kept at most
     * @param freezeAfter observations after which the range stops changing; negative: never
     */
    public MseObserver(IntGrid grid, int bins, int freezeAfter) {
        super(bins, freezeAfter);
        this.grid = Objects.requireNonNull(grid, "grid");
    }

    @Override
    protected double[] computeRange(Histogram h) {
        int start = 0;
        int end = h.bins() - 1;
        while (h.count(start) == 0) {
            start++;
        }
        while (h.count(end) == 0) {
            end--;
        }
        double best = error(h, start, end);
        int bestStart = start;
        int bestEnd = end;
        while (start < end) {
            long low = h.count(start);
            long high = h.count(end);
            boolean moveStart = low < high || (low == high && -h.lowerEdge(start) > h.upperEdge(end));
            if (moveStart) {
                do {
                    start++;
                } while (h.count(start) == 0);
            } else {
                do {
                    end--;
                } while (h.count(end) == 0);
            }
            double e = error(h, start, end);
            if (e < best) {
                best = e;
                bestStart = start;
                bestEnd = end;
            }
        }
        return new double[] {h.lowerEdge(bestStart), h.upperEdge(bestEnd)};
    }

    /** The histogram's squared error on the grid fitted to bins {@code start .. end} (clipped to the observed extremes). */
    private double error(Histogram h, int start, int end) {
        float lo = (float) Math.max(observedMin(), h.lowerEdge(start));
        float hi = (float) Math.min(observedMax(), h.upperEdge(end));
        IntGrid.Params p = grid.fitRange(Math.min(lo, 0f), Math.max(hi, 0f));
        double e = 0;
        for (int b = 0; b < h.bins(); b++) {
            long c = h.count(b);
            if (c != 0) {
                float x = (float) h.center(b);
                double d = grid.fakeQuantize(x, p.scale(), p.zero()) - (double) x;
                e += c * d * d;
            }
        }
        return e;
    }
}
