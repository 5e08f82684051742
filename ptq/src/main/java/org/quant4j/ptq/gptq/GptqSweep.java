package org.quant4j.ptq.gptq;

import org.quant4j.ptq.NativeLinearAlgebra;
import org.quant4j.ptq.RangeSearch;
import org.quant4j.ptq.ScaleLayout;
import org.quant4j.ptq.SymmetricPermutation;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.formats.IntGrid;

/**
 * The column sweep of GPTQ (Frantar et al., ICLR 2023, Algorithm 1) with lazy batch updates (§3
 * "Step 2"): columns are taken in blocks; inside a block every column is quantized and its scaled
 * error {@code e = (w - q) / U_ii} is propagated to the block's later columns
 * ({@code w_j -= e·U_ij}); after the block, all later columns receive the block's errors at once,
 * {@code W[:, end:] -= E · U[block, end:]}, one gemm.
 *
 * <p>Rows are independent in Algorithm 1 (each output channel only sees its own errors), so the work
 * inside a block runs on chunks of {@value #CHUNK} rows, in parallel over chunks. A chunk's slice of
 * the block is held transposed ({@code x[column][row]}, {@code count×64} floats, in L1/L2 cache), so
 * that each step of the column loop — quantizing a column, dividing its errors by {@code U_ii}, and
 * the update of the block's later columns — runs over 64 independent rows (vectorized, no per-row
 * dependency chain). Within a block, columns go in panels of {@value #PANEL}: a column's errors reach
 * the rest of its panel at once, the rest of the block once per panel. The errors are written
 * transposed too ({@code Eᵀ}, block columns × rows) and the lazy-batch gemm reads them as {@code (Eᵀ)ᵀ}. Each weight receives the same float
 * operations in the same order as in Algorithm 1 row by row. Group parameters are fitted on the
 * rows' current values when the group's first column is reached.
 */
public final class GptqSweep {
    /** Rows swept together. */
    static final int CHUNK = 64;
    /** Columns whose errors reach the rest of the block together. */
    private static final int PANEL = 4;

    private final String layer;
    private final IntGrid grid;
    private final RangeSearch range;
    private final ScaleLayout layout;
    private final int[] order;
    private final int rows;
    private final int n;

    GptqSweep(String layer, IntGrid grid, RangeSearch range, ScaleLayout layout, int[] order, int rows) {
        this.layer = layer;
        this.grid = grid;
        this.range = range;
        this.layout = layout;
        this.order = order;
        this.rows = rows;
        this.n = order.length;
    }

    /**
     * Runs the sweep over the workspace's weights ({@code rows×n}, columns in processing order;
     * overwritten) with the factor in its Hessian buffer (upper triangle), writing codes at original
     * column positions and the parameters the sweep fits into {@code scales}/{@code zeros}.
     *
     * @return the GPTQ proxy loss {@code Σ e²/2} (the reference's {@code Losses})
     */
    double run(GptqWorkspace ws, int blockSize, byte[] codes, float[] scales, float[] zeros) {
        FloatBuffer wb = ws.weights();
        FloatBuffer ub = ws.hessian();
        FloatBuffer eb = ws.errors();
        FloatPointer wp = ws.weightsPointer();
        FloatPointer up = ws.hessianPointer();
        FloatPointer ep = ws.errorsPointer();
        int chunks = (rows + CHUNK - 1) / CHUNK;
        int slices = SymmetricPermutation.parallelSlices(chunks);
        double[] loss = new double[slices];
        for (int start = 0; start < n; ) {
            int end = layout.blockEnd(start, blockSize);
            int count = end - start;
            float[][] block = diagonalBlock(ub, start, count);
            int blockStart = start;
            IntStream.range(0, slices).parallel().forEach(s -> {
                Scratch scratch = new Scratch(count, layout.groupSize());
                double sliceLoss = 0;
                for (int c = SymmetricPermutation.sliceStart(chunks, s); c < SymmetricPermutation.sliceStart(chunks, s + 1);
                     c++) {
                    int r0 = c * CHUNK;
                    sliceLoss += sweepChunk(r0, Math.min(CHUNK, rows - r0), blockStart, count, block, wb, eb, codes,
                            scales, zeros, scratch);
                }
                loss[s] += sliceLoss;
            });
            if (end < n) { // W[:, end:] -= (Eᵀ)ᵀ · U[start:end, end:]
                NativeLinearAlgebra.gemmTransposedA(rows, n - end, count, -1f, ep, rows,
                        NativeLinearAlgebra.at(up, (long) start * n + end), n, 1f,
                        NativeLinearAlgebra.at(wp, end), n);
            }
            start = end;
        }
        double total = 0;
        for (double l : loss) {
            total += l;
        }
        return total;
    }

    /**
     * {@code U[start:start+count, start:start+count]}, one array per row: the inner loops then index
     * their arrays from 0, which C2 vectorizes (JDK 17 does not vectorize a loop whose arrays are
     * indexed with different invariant offsets).
     */
    private float[][] diagonalBlock(FloatBuffer ub, int start, int count) {
        float[][] block = new float[count][count];
        for (int a = 0; a < count; a++) {
            ub.get((start + a) * n + start, block[a], 0, count);
        }
        return block;
    }

    /** Per-thread arrays for one block. */
    private static final class Scratch {
        final float[][] x;
        final float[][] e;
        final float[] row;
        final float[] scale = new float[CHUNK];
        final float[] zero = new float[CHUNK];
        final float[] min = new float[CHUNK];
        final float[] max = new float[CHUNK];
        final float[] group;

        Scratch(int count, int groupSize) {
            x = new float[count][CHUNK];
            e = new float[count][CHUNK];
            row = new float[count];
            group = new float[groupSize];
        }
    }

    /** Algorithm 1's inner loop for rows {@code [r0, r0+len)} over one block; returns their loss. */
    private double sweepChunk(int r0, int len, int start, int count, float[][] u, FloatBuffer wb, FloatBuffer eb,
                              byte[] codes, float[] scales, float[] zeros, Scratch t) {
        float[][] x = t.x;
        for (int k = 0; k < len; k++) {
            wb.get((r0 + k) * n + start, t.row, 0, count);
            for (int i = 0; i < count; i++) {
                x[i][k] = t.row[i];
            }
        }
        int[] columnBlock = layout.columnBlock();
        boolean[] fitAt = layout.fitAt();
        int stride = layout.rowStride();
        float[] sc = t.scale;
        float[] zc = t.zero;
        int loaded = -1;
        double loss = 0;
        for (int first = 0; first < count; ) {
            int last = Math.min(count, first + PANEL); // a panel ends before a column where a group is fitted
            for (int c = first + 1; c < last; c++) {
                if (fitAt[start + c]) {
                    last = c;
                    break;
                }
            }
            for (int i = first; i < last; i++) {
                int col = start + i;
                int param = columnBlock[col];
                if (fitAt[col]) {
                    fitGroups(r0, len, col, i, count, x, wb, scales, zeros, t);
                }
                if (fitAt[col] || param != loaded) {
                    for (int k = 0; k < len; k++) {
                        sc[k] = scales[(r0 + k) * stride + param];
                        zc[k] = zeros[(r0 + k) * stride + param];
                    }
                    loaded = param;
                }
                float[] xi = x[i];
                float[] ei = t.e[i];
                float[] ui = u[i];
                float pivot = ui[i];
                int codeAt = r0 * n + order[col];
                for (int k = 0; k < len; k++) {
                    float v = xi[k];
                    int code = grid.code(v, sc[k], zc[k]);
                    codes[codeAt + k * n] = (byte) code;
                    float e = (v - grid.value(code, sc[k], zc[k])) / pivot;
                    ei[k] = e;
                    loss += 0.5 * e * e;
                }
                for (int j = i + 1; j < last; j++) {
                    axpy(len, ei, ui[j], x[j]);
                }
                eb.put(i * rows + r0, ei, 0, len);
            }
            updateLaterColumns(len, first, last, count, x, t.e, u);
            first = last;
        }
        return loss;
    }

    private static void axpy(int len, float[] e, float a, float[] x) {
        for (int k = 0; k < len; k++) {
            x[k] -= e[k] * a;
        }
    }

    /**
     * Columns {@code [last, count)} of the block receive the errors of panel columns
     * {@code [first, last)}, in column order ({@code x_j -= e_i·U_ij} for i ascending, each product
     * and difference rounded as in the column-by-column loop); a full panel reads each {@code x_j}
     * once for its {@value #PANEL} updates.
     */
    private static void updateLaterColumns(int len, int first, int last, int count, float[][] x, float[][] e,
                                           float[][] u) {
        if (last - first != PANEL) {
            for (int i = first; i < last; i++) {
                for (int j = last; j < count; j++) {
                    axpy(len, e[i], u[i][j], x[j]);
                }
            }
            return;
        }
        float[] e0 = e[first];
        float[] e1 = e[first + 1];
        float[] e2 = e[first + 2];
        float[] e3 = e[first + 3];
        float[] u0 = u[first];
        float[] u1 = u[first + 1];
        float[] u2 = u[first + 2];
        float[] u3 = u[first + 3];
        for (int j = last; j < count; j++) {
            float a0 = u0[j];
            float a1 = u1[j];
            float a2 = u2[j];
            float a3 = u3[j];
            float[] xj = x[j];
            for (int k = 0; k < len; k++) {
                xj[k] = (((xj[k] - e0[k] * a0) - e1[k] * a1) - e2[k] * a2) - e3[k] * a3;
            }
        }
    }

    /**
     * Fits the parameters of the group starting at position {@code col} on the chunk's current values:
     * from the block when the group lies in it, else (the group starts the block and is longer than
     * it) from W, whose later columns hold every update made before the block. Min-max ranges are
     * taken over all rows at once.
     */
    private void fitGroups(int r0, int len, int col, int i, int count, float[][] x, FloatBuffer wb, float[] scales,
                           float[] zeros, Scratch t) {
        int g = layout.groupSize();
        int base = layout.columnBlock()[col];
        int stride = layout.rowStride();
        boolean inBlock = i + g <= count;
        if (inBlock && range == RangeSearch.minMax()) {
            java.util.Arrays.fill(t.min, 0f); // IntGrid.fit starts its range at 0 too
            java.util.Arrays.fill(t.max, 0f);
            for (int a = i; a < i + g; a++) {
                float[] xa = x[a];
                for (int k = 0; k < len; k++) {
                    t.min[k] = Math.min(t.min[k], xa[k]);
                    t.max[k] = Math.max(t.max[k], xa[k]);
                }
            }
        }
        for (int k = 0; k < len; k++) {
            int r = r0 + k;
            IntGrid.Params p;
            try {
                if (inBlock && range == RangeSearch.minMax()) {
                    p = grid.fitRange(t.min[k], t.max[k]);
                } else {
                    if (inBlock) {
                        for (int a = 0; a < g; a++) {
                            t.group[a] = x[i + a][k];
                        }
                    } else {
                        wb.get(r * n + col, t.group, 0, g);
                    }
                    p = range.fit(grid, t.group, 0, g);
                }
            } catch (InvalidTensorException e) {
                throw new InvalidTensorException("layer '" + layer + "', row " + r + ", group " + (col / g) + ": "
                        + e.getMessage(), e);
            }
            scales[r * stride + base] = p.scale();
            zeros[r * stride + base] = p.zero();
        }
    }
}
