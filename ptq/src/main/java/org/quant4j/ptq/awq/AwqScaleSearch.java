package org.quant4j.ptq.awq;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;

/**
 * AWQ's search for per-input-channel scales (Lin et al., "AWQ: Activation-aware Weight Quantization for
 * LLM Compression and Acceleration", MLSys 2024, §3.2 "Searching to scale"; AutoAWQ
 * {@code _search_best_scale} / {@code _compute_best_scale}) for a group of linear layers that read the
 * same input (Q/K/V, or the two FFN input projections): with {@code s_x} the mean {@code |x|} per input channel and {@code s_w} the
 * mean over the group's rows of {@code |w|} normalised by its quantization block's largest {@code |w|},
 * <ul>
 *   <li>the paper's scales {@code s = s_x^α}, or AutoAWQ's default "duo scaling"
 *       {@code s = s_x^α / (s_w^(1−α) + 10⁻⁴)}, both clamped below at {@code 10⁻⁴},</li>
 *   <li>normalised by {@code sqrt(max(s)·min(s))} (non-finite results replaced by 1),</li>
 *   <li>for {@code α = i/grid}, {@code i = 0 .. grid−1} (grid 20), each judged by the {@link AwqLoss} of
 *       the group's candidate weights {@code Q(W·diag(s))·diag(1/s)}; the lowest loss wins.</li>
 * </ul>
 * One addition to the reference: the unscaled weights ({@code s = 1}) are judged too and win when no
 * grid point beats them (with duo scaling, {@code α = 0} is not the identity), so the returned scales
 * are never worse than none in the search's own loss.
 */
public final class AwqScaleSearch {
    public static final int DEFAULT_GRID = 20;

    private final int grid;
    private final boolean duoScaling;

    /** The reference defaults: 20 grid points, duo scaling. */
    public AwqScaleSearch() {
        this(DEFAULT_GRID, true);
    }

    public AwqScaleSearch(int grid, boolean duoScaling) {
        if (grid < 1) {
            throw new InvalidSpecException("AWQ scale grid must have at least one point, got " + grid);
        }
        this.grid = grid;
        this.duoScaling = duoScaling;
    }

    /**
     * @param scales       the chosen scales, one per input channel (all 1 when the unscaled weights won)
     * @param gridPoint    the winning {@code i} ({@code α = i/grid}), or −1 for the unscaled weights
     * @param loss         the winner's loss
     * @param lossByPoint  the loss of every grid point, in order
     * @param unscaledLoss the loss of the unscaled weights (plain round-to-nearest)
     */
    public record Result(float[] scales, int gridPoint, double alpha, double loss, double[] lossByPoint,
                         double unscaledLoss) {}

    /**
     * Searches the scales of a group of layers.
     *
     * @param group    names the group in error messages
     * @param weights  the layers' {@code [out_i, in]} weights (not modified)
     * @param xMeanAbs mean {@code |x|} per input channel ({@code in} values, e.g. {@code LayerStats.meanAbs()})
     * @param spec     the INT spec the layers will be stored with (per channel or per group)
     * @param loss     the block error of candidate weights
     */
    public Result search(String group, List<INDArray> weights, float[] xMeanAbs, QuantSpec spec, AwqLoss loss) {
        return search(group, weights, xMeanAbs, spec, loss, 1);
    }

    /**
     * {@link #search(String, List, float[], QuantSpec, AwqLoss)} with one scale per input channel of
     * {@code columnsPerScale} consecutive columns (a convolution's {@code [out, in·kh·kw]} matrix: the
     * {@code kh·kw} columns of a channel): {@code s_x} and {@code s_w} are averaged over a channel's columns
     * before the scales are formed, so every column of a channel gets the channel's scale.
     */
    public Result search(String group, List<INDArray> weights, float[] xMeanAbs, QuantSpec spec, AwqLoss loss,
                         int columnsPerScale) {
        if (columnsPerScale < 1 || xMeanAbs.length % columnsPerScale != 0) {
            throw new InvalidTensorException("AWQ group '" + group + "': " + xMeanAbs.length + " input columns cannot "
                    + "share scales in runs of " + columnsPerScale);
        }
        if (weights.isEmpty()) {
            throw new InvalidTensorException("AWQ group '" + group + "' has no layers");
        }
        int in = xMeanAbs.length;
        List<float[]> data = new ArrayList<>();
        List<AwqGrid> grids = new ArrayList<>();
        for (INDArray w : weights) {
            if (w.rank() != 2 || w.size(1) != in) {
                throw new InvalidTensorException("AWQ group '" + group + "': weight " + Arrays.toString(w.shape())
                        + " does not take the group's " + in + " input channels");
            }
            float[] values = w.castTo(DataType.FLOAT).dup('c').data().asFloat();
            checkFinite(group, values, xMeanAbs);
            data.add(values);
            grids.add(AwqGrid.of(group, spec, (int) w.size(0), in));
        }
        float[] wMean = tie(normalisedWeightMean(data, grids, in), columnsPerScale);
        xMeanAbs = tie(xMeanAbs, columnsPerScale);
        float[] ones = new float[in];
        Arrays.fill(ones, 1f);
        double unscaled = evaluate(weights, data, grids, ones, loss);
        double[] losses = new double[grid];
        int best = -1;
        double bestLoss = unscaled;
        float[] bestScales = ones;
        for (int i = 0; i < grid; i++) {
            float[] s = scales(xMeanAbs, wMean, (double) i / grid);
            losses[i] = evaluate(weights, data, grids, s, loss);
            if (losses[i] < bestLoss) {
                bestLoss = losses[i];
                best = i;
                bestScales = s;
            }
        }
        return new Result(bestScales, best, best < 0 ? 0 : (double) best / grid, bestLoss, losses, unscaled);
    }

    /** The candidate scales of ratio {@code alpha}, normalised by {@code sqrt(max·min)}. */
    float[] scales(float[] xMean, float[] wMean, double alpha) {
        int n = xMean.length;
        double[] s = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        double min = Double.POSITIVE_INFINITY;
        for (int c = 0; c < n; c++) {
            double v = Math.pow(xMean[c], alpha);
            if (duoScaling) {
                v /= Math.pow(wMean[c], 1 - alpha) + 1e-4;
            }
            v = Math.max(v, 1e-4);
            s[c] = v;
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        double norm = Math.sqrt(max * min);
        float[] out = new float[n];
        for (int c = 0; c < n; c++) {
            float v = (float) (s[c] / norm);
            out[c] = Float.isFinite(v) && v > 0 ? v : 1f;
        }
        return out;
    }

    /** {@code v} with each run of {@code k} consecutive values replaced by its mean (a copy; {@code v} when k is 1). */
    private static float[] tie(float[] v, int k) {
        if (k == 1) {
            return v;
        }
        float[] out = new float[v.length];
        for (int from = 0; from < v.length; from += k) {
            double sum = 0;
            for (int i = from; i < from + k; i++) {
                sum += v[i];
            }
            Arrays.fill(out, from, from + k, (float) (sum / k));
        }
        return out;
    }

    /** AutoAWQ's {@code w_mean}: per input channel, the mean over all rows of {@code |w| / (block max |w| + 10⁻⁶)}. */
    private static float[] normalisedWeightMean(List<float[]> data, List<AwqGrid> grids, int in) {
        double[] sum = new double[in];
        long rows = 0;
        for (int l = 0; l < data.size(); l++) {
            float[] w = data.get(l);
            AwqGrid g = grids.get(l);
            float[] amax = g.blockAbsMax(w);
            int blockLength = g.groupSize();
            for (int b = 0; b < amax.length; b++) {
                double denominator = amax[b] + 1e-6;
                int offset = b * blockLength;
                int column = offset % in;
                for (int i = 0; i < blockLength; i++) {
                    sum[column + i] += Math.abs(w[offset + i]) / denominator;
                }
            }
            rows += w.length / in;
        }
        float[] mean = new float[in];
        for (int c = 0; c < in; c++) {
            mean[c] = (float) (sum[c] / rows);
        }
        return mean;
    }

    private static double evaluate(List<INDArray> weights, List<float[]> data, List<AwqGrid> grids, float[] s,
                                   AwqLoss loss) {
        List<INDArray> candidates = new ArrayList<>();
        for (int l = 0; l < data.size(); l++) {
            candidates.add(Nd4j.create(grids.get(l).fakeQuantizeScaled(data.get(l), s), weights.get(l).shape(), 'c'));
        }
        try {
            return loss.evaluate(candidates);
        } finally {
            candidates.forEach(INDArray::close);
        }
    }

    private static void checkFinite(String group, float[] w, float[] xMean) {
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) {
                throw new InvalidTensorException("AWQ group '" + group + "': weight " + w[i] + " at flat index " + i
                        + "; only finite weights can be quantized");
            }
        }
        for (int c = 0; c < xMean.length; c++) {
            if (!(xMean[c] >= 0) || Float.isInfinite(xMean[c])) {
                throw new InvalidTensorException("AWQ group '" + group + "': mean |x| of input channel " + c + " is "
                        + xMean[c] + "; it must be finite and >= 0");
            }
        }
    }

    @Override
    public String toString() {
        return "awq-scales(grid=" + grid + ", " + (duoScaling ? "duo" : "paper") + ")";
    }
}
