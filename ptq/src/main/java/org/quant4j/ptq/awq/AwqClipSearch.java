package org.quant4j.ptq.awq;

import org.quant4j.ptq.NativeLinearAlgebra;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;

/**
 * AWQ's weight clipping search (AutoAWQ {@code _compute_best_clip}; Lin et al. 2024 apply it after the
 * scales): for every quantization block (row and group) of the already scaled weight, the clip value
 * {@code m = (1 − i/grid)·max|w|} for {@code i = 0 .. ⌊maxShrink·grid⌋ − 1} (defaults: grid 20, shrink
 * below 50%, so {@code i = 0..9} and {@code m} from {@code max|w|} down to {@code 0.55·max|w|}) that
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

    /** The reference defaults: grid 20, max shrink 0.5 (10 candidates, down to 0.55·max|w|). */
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
     * @param clip         the clip value of every block ({@code row·(cols/g) + group}); {@code +∞} where unclipped
     * @param errorBefore  {@code Σ_rows ‖X(W − Q(W))ᵀ‖² / rows} without clipping, on the search rows
     * @param errorAfter   the same with the chosen clips ({@code <= errorBefore})
     * @param rowsReverted rows that kept the unclipped ranges because clipping raised their error
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
        int rows = (int) x.rows();
        AwqGrid blocks = AwqGrid.of(layer, spec, out, in);
        int g = blocks.groupSize();
        float[] weights = w.castTo(DataType.FLOAT).dup('c').data().asFloat();
        try (INDArray xc = x.castTo(DataType.FLOAT).dup('c');
             INDArray xt = x.castTo(DataType.FLOAT).transpose().dup('c');
             INDArray gram = Nd4j.createUninitialized(DataType.FLOAT, g, g);
             INDArray d = Nd4j.createUninitialized(DataType.FLOAT, out, g);
             INDArray dg = Nd4j.createUninitialized(DataType.FLOAT, out, g)) {
            float[] clip = searchBlocks(weights, blocks, out, in, new Workspace(xc, xt, rows, gram, d, dg));
            return guard(weights, clip, blocks, out, in, xt, rows);
        }
    }

    /**
     * Native buffers of one search: {@code X [rows, in]} and {@code Xᵀ [in, rows]} (c order), a group's
     * Gram matrix {@code [g, g]}, the block errors {@code D} and {@code D·G} ({@code [out, g]}).
     */
    private record Workspace(INDArray x, INDArray xt, int rows, INDArray gram, INDArray d, INDArray dg) {}

    /** The per-block choice: for each group and candidate shrink, every row's group error. */
    private float[] searchBlocks(float[] w, AwqGrid blocks, int out, int in, Workspace ws) {
        int g = blocks.groupSize();
        int groups = in / g;
        float[] amax = blocks.blockAbsMax(w);
        float[] clip = new float[blocks.blocks()];
        Arrays.fill(clip, Float.POSITIVE_INFINITY);
        double[] bestError = new double[clip.length];
        Arrays.fill(bestError, Double.POSITIVE_INFINITY);
        float[] candidateClip = new float[clip.length];
        float[] quantized = new float[w.length];
        float[] d = new float[out * g];
        float[] dg = new float[out * g];
        FloatPointer x = NativeLinearAlgebra.pointer(ws.x());
        FloatPointer xt = NativeLinearAlgebra.pointer(ws.xt());
        FloatPointer gram = NativeLinearAlgebra.pointer(ws.gram());
        FloatPointer dp = NativeLinearAlgebra.pointer(ws.d());
        FloatPointer dgp = NativeLinearAlgebra.pointer(ws.dg());
        FloatBuffer db = ws.d().data().asNioFloat();
        FloatBuffer dgb = ws.dg().data().asNioFloat();
        for (int k = 0; k < groups; k++) { // G_k = X_kᵀ X_k / rows: rows k·g.. of Xᵀ times columns k·g.. of X
            NativeLinearAlgebra.gemm(g, g, ws.rows(), 1f / ws.rows(), NativeLinearAlgebra.at(xt, (long) k * g * ws.rows()),
                    ws.rows(), NativeLinearAlgebra.at(x, (long) k * g), in, 0f, gram, g);
            for (int i = 0; i < candidates; i++) {
                float shrink = 1f - (float) i / grid;
                for (int r = 0; r < out; r++) {
                    int b = r * groups + k;
                    candidateClip[b] = i == 0 ? Float.POSITIVE_INFINITY : amax[b] * shrink;
                    blocks.fakeQuantize(w, candidateClip, b, b + 1, quantized);
                    for (int c = 0; c < g; c++) {
                        d[r * g + c] = quantized[b * g + c] - w[b * g + c];
                    }
                }
                db.put(0, d);
                NativeLinearAlgebra.gemm(out, g, g, 1f, dp, g, gram, g, 0f, dgp, g);
                dgb.get(0, dg);
                for (int r = 0; r < out; r++) {
                    double e = 0;
                    for (int c = r * g; c < (r + 1) * g; c++) {
                        e += (double) dg[c] * d[c];
                    }
                    int b = r * groups + k;
                    if (e < bestError[b]) {
                        bestError[b] = e;
                        clip[b] = candidateClip[b];
                    }
                }
            }
        }
        return clip;
    }

    /** Reverts rows whose clipped output error exceeds the unclipped one; reports both totals. */
    private static Result guard(float[] w, float[] clip, AwqGrid blocks, int out, int in, INDArray xt, int rows) {
        int groups = in / blocks.groupSize();
        float[] unclipped = new float[w.length];
        float[] clipped = new float[w.length];
        blocks.fakeQuantize(w, null, 0, blocks.blocks(), unclipped);
        blocks.fakeQuantize(w, clip, 0, blocks.blocks(), clipped);
        double[] before = rowErrors(w, unclipped, out, in, xt, rows);
        double[] after = rowErrors(w, clipped, out, in, xt, rows);
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

    /** {@code ‖X (q_r − w_r)‖² / rows} for every row {@code r}, from {@code (Q − W)·Xᵀ} (one gemm). */
    private static double[] rowErrors(float[] w, float[] q, int out, int in, INDArray xt, int rows) {
        float[] d = new float[w.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = q[i] - w[i];
        }
        double[] errors = new double[out];
        float[] p = new float[rows];
        try (INDArray da = Nd4j.create(d, new long[] {out, in}, 'c');
             INDArray product = Nd4j.createUninitialized(DataType.FLOAT, out, rows)) {
            NativeLinearAlgebra.gemm(out, rows, in, 1f, NativeLinearAlgebra.pointer(da), in,
                    NativeLinearAlgebra.pointer(xt), rows, 0f, NativeLinearAlgebra.pointer(product), rows);
            FloatBuffer pb = product.data().asNioFloat();
            for (int r = 0; r < out; r++) {
                pb.get(r * rows, p, 0, rows);
                double e = 0;
                for (float v : p) {
                    e += (double) v * v;
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
