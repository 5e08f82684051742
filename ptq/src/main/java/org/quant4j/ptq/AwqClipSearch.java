package org.quant4j.ptq;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;

/**
 * AWQ's weight clipping search (AutoAWQ {@code _compute_best_clip}; Lin et al. 2024 apply it after the
 * scales): for every quantization block (row and group) of the already scaled weight, the clip value
 * {@code m = (1 − i/grid)·max|w|} for {@code i = 0 .. ⌊maxShrink·grid⌋ − 1} (20 steps, down to 50%) that
 * minimises the block's output error {@code mean_t (Σ_{c∈group} x_tc·(q_c − w_c))²} on the input rows,
 * the block quantized as {@code Q(clamp(w, −m, m))}. The unclipped block ({@code i = 0}) is a candidate,
 * so no block's own error grows.
 *
 * <p>Evaluation: the block error is the quadratic form {@code dᵀ G_k d} of the block's weight error with
 * the group's Gram matrix {@code G_k = X_kᵀX_k / rows} of the same rows, so one {@code [out, g]×[g, g]}
 * product per group and candidate replaces the reference's per-token sums (the same numbers, for
 * {@code g < rows} fewer operations).
 *
 * <p>One addition to the reference: the group errors of a row add up to the row's output error only up
 * to cross terms between groups, so a row whose clipped output error on the rows exceeds its unclipped
 * one keeps the unclipped ranges. The layer's output error on the search rows therefore never grows.
 */
public final class AwqClipSearch {
    public static final int DEFAULT_GRID = 20;
    public static final double DEFAULT_MAX_SHRINK = 0.5;

    private final int grid;
    private final int candidates;

    /** The reference defaults: grid 20, shrink up to 50% (10 candidates). */
    public AwqClipSearch() {
        this(DEFAULT_GRID, DEFAULT_MAX_SHRINK);
    }

    public AwqClipSearch(int grid, double maxShrink) {
        if (grid < 1 || !(maxShrink > 0 && maxShrink < 1)) {
            throw new InvalidSpecException("AWQ clip search needs grid >= 1 and 0 < maxShrink < 1, got grid=" + grid
                    + ", maxShrink=" + maxShrink);
        }
        this.grid = grid;
        this.candidates = Math.max(1, (int) (maxShrink * grid));
    }

    /**
     * @param clip          the clip value of every block ({@code row·(cols/g) + group}); {@code +∞} where unclipped
     * @param errorBefore   {@code Σ_rows ‖X(W − Q(W))ᵀ‖² / rows} without clipping, on the search rows
     * @param errorAfter    the same with the chosen clips ({@code <= errorBefore})
     * @param rowsReverted  rows that kept the unclipped ranges because clipping raised their error
     */
    public record Result(float[] clip, double errorBefore, double errorAfter, int rowsReverted) {}

    /**
     * Searches the clip values of a scaled weight.
     *
     * @param layer names the layer in error messages
     * @param w     the weight as it will be quantized, {@code [out, in]} (for AWQ: {@code W·diag(s)}; not modified)
     * @param x     input rows as the weight sees them, {@code [rows, in]} (for AWQ: {@code X·diag(1/s)})
     */
    public Result search(String layer, INDArray w, INDArray x, QuantSpec spec) {
        if (w.rank() != 2 || x.rank() != 2 || x.size(1) != w.size(1) || x.rows() == 0) {
            throw new InvalidTensorException("layer '" + layer + "': AWQ clip search needs an [out, in] weight and"
                    + " [rows, in] inputs, got " + Arrays.toString(w.shape()) + " and " + Arrays.toString(x.shape()));
        }
        int out = (int) w.size(0);
        int in = (int) w.size(1);
        AwqGrid blocks = AwqGrid.of(layer, spec, out, in);
        int g = blocks.groupSize();
        int groups = in / g;
        float[] weights = w.castTo(DataType.FLOAT).dup('c').data().asFloat();
        INDArray xf = x.castTo(DataType.FLOAT);
        float[] amax = blocks.blockAbsMax(weights);
        float[] clip = new float[blocks.blocks()];
        Arrays.fill(clip, Float.POSITIVE_INFINITY);
        float[] bestError = new float[clip.length];
        Arrays.fill(bestError, Float.POSITIVE_INFINITY);
        float[] candidateClip = new float[clip.length];
        float[] quantized = new float[weights.length];
        double scale = 1.0 / x.rows();
        for (int k = 0; k < groups; k++) {
            INDArray xk = xf.get(NDArrayIndex.all(), NDArrayIndex.interval(k * g, (k + 1) * g));
            try (INDArray gram = xk.transpose().mmul(xk).muli(scale)) {
                for (int i = 0; i < candidates; i++) {
                    float shrink = 1f - (float) i / grid;
                    for (int r = 0; r < out; r++) {
                        int b = r * groups + k;
                        candidateClip[b] = i == 0 ? Float.POSITIVE_INFINITY : amax[b] * shrink;
                    }
                    float[] error = groupErrors(weights, quantized, candidateClip, blocks, out, in, k, gram);
                    for (int r = 0; r < out; r++) {
                        int b = r * groups + k;
                        if (error[r] < bestError[b]) {
                            bestError[b] = error[r];
                            clip[b] = candidateClip[b];
                        }
                    }
                }
            }
        }
        return guard(weights, clip, blocks, out, in, xf);
    }

    /** Each row's error {@code dᵀ G_k d} in group {@code k} with the candidate clips. */
    private static float[] groupErrors(float[] w, float[] quantized, float[] clip, AwqGrid blocks, int out, int in,
                                       int k, INDArray gram) {
        int g = blocks.groupSize();
        int groups = in / g;
        float[] d = new float[out * g];
        for (int r = 0; r < out; r++) {
            int b = r * groups + k;
            blocks.fakeQuantize(w, clip, b, b + 1, quantized);
            for (int c = 0; c < g; c++) {
                d[r * g + c] = quantized[b * g + c] - w[b * g + c];
            }
        }
        float[] dg;
        try (INDArray da = Nd4j.create(d, new long[] {out, g}, 'c'); INDArray product = da.mmul(gram)) {
            dg = product.dup('c').data().asFloat();
        }
        float[] error = new float[out];
        for (int r = 0; r < out; r++) {
            double e = 0;
            for (int c = r * g; c < (r + 1) * g; c++) {
                e += (double) dg[c] * d[c];
            }
            error[r] = (float) e;
        }
        return error;
    }

    /** Reverts rows whose clipped output error exceeds the unclipped one; reports both totals. */
    private static Result guard(float[] w, float[] clip, AwqGrid blocks, int out, int in, INDArray x) {
        int groups = in / blocks.groupSize();
        float[] unclipped = new float[w.length];
        float[] clipped = new float[w.length];
        blocks.fakeQuantize(w, null, 0, blocks.blocks(), unclipped);
        blocks.fakeQuantize(w, clip, 0, blocks.blocks(), clipped);
        double[] before = rowErrors(w, unclipped, out, in, x);
        double[] after = rowErrors(w, clipped, out, in, x);
        double totalBefore = 0;
        double totalAfter = 0;
        int reverted = 0;
        for (int r = 0; r < out; r++) {
            totalBefore += before[r];
            if (after[r] > before[r]) {
                Arrays.fill(clip, r * groups, (r + 1) * groups, Float.POSITIVE_INFINITY);
                totalAfter += before[r];
                reverted++;
            } else {
                totalAfter += after[r];
            }
        }
        return new Result(clip, totalBefore, totalAfter, reverted);
    }

    /** {@code ‖X (w_r − q_r)‖² / rows} for every row {@code r}. */
    private static double[] rowErrors(float[] w, float[] q, int out, int in, INDArray x) {
        float[] d = new float[w.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = q[i] - w[i];
        }
        double[] errors = new double[out];
        long rows = x.rows();
        try (INDArray da = Nd4j.create(d, new long[] {out, in}, 'c'); INDArray product = da.mmul(x.transpose())) {
            float[] p = product.dup('c').data().asFloat();
            for (int r = 0; r < out; r++) {
                double e = 0;
                for (int t = r * (int) rows; t < (r + 1) * (int) rows; t++) {
                    e += (double) p[t] * p[t];
                }
                errors[r] = e / rows;
            }
        }
        return errors;
    }

    @Override
    public String toString() {
        return "awq-clip(grid=" + grid + ", candidates=" + candidates + ")";
    }
}
