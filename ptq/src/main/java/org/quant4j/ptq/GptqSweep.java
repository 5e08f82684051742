package org.quant4j.ptq;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
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
 * inside a block runs row by row, in parallel over rows, on a row's slice of the block kept in a
 * small {@code float[]} (it stays in L1 cache): a quantization, a division and one axpy over the rest of
 * the block per column. Group parameters are fitted on the row's current values when the group's
 * first column is reached.
 */
final class GptqSweep {
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
     * Runs the sweep over {@code w} ({@code rows×n}, columns in processing order; overwritten) with the
     * factor {@code u} (upper triangle), writing codes at original column positions and the parameters
     * the sweep fits into {@code scales}/{@code zeros}.
     *
     * @return the GPTQ proxy loss {@code Σ e²/2} (the reference's {@code Losses})
     */
    double run(INDArray w, INDArray u, int blockSize, byte[] codes, float[] scales, float[] zeros) {
        FloatBuffer wb = w.data().asNioFloat();
        FloatBuffer ub = u.data().asNioFloat();
        FloatPointer wp = NativeLinearAlgebra.pointer(w);
        FloatPointer up = NativeLinearAlgebra.pointer(u);
        int slices = SymmetricPermutation.parallelSlices(rows);
        double[] loss = new double[slices];
        INDArray errors = Nd4j.createUninitialized(DataType.FLOAT, rows, blockSize);
        try {
            FloatBuffer eb = errors.data().asNioFloat();
            FloatPointer ep = NativeLinearAlgebra.pointer(errors);
            for (int start = 0; start < n; ) {
                int end = layout.blockEnd(start, blockSize);
                int count = end - start;
                float[][] block = diagonalBlock(ub, start, count);
                int blockStart = start;
                IntStream.range(0, slices).parallel().forEach(s -> loss[s] += sweepRows(
                        SymmetricPermutation.sliceStart(rows, s), SymmetricPermutation.sliceStart(rows, s + 1),
                        blockStart, count, block, wb, eb, codes, scales, zeros));
                if (end < n) { // W[:, end:] -= E[:, :count] · U[start:end, end:]
                    NativeLinearAlgebra.gemm(rows, n - end, count, -1f, ep, count,
                            NativeLinearAlgebra.at(up, (long) start * n + end), n, 1f,
                            NativeLinearAlgebra.at(wp, end), n);
                }
                start = end;
            }
        } finally {
            errors.close();
        }
        double total = 0;
        for (double l : loss) {
            total += l;
        }
        return total;
    }

    /**
     * {@code U[start:start+count, start:start+count]}, one array per row: the inner axpy then indexes
     * both of its arrays from 0, which C2 vectorizes (JDK 17 does not vectorize a loop whose arrays
     * are indexed with different invariant offsets).
     */
    private float[][] diagonalBlock(FloatBuffer ub, int start, int count) {
        float[][] block = new float[count][count];
        for (int a = 0; a < count; a++) {
            ub.get((start + a) * n + start, block[a], 0, count);
        }
        return block;
    }

    /** Algorithm 1's inner loop for rows {@code [r0, r1)} over one block; returns their loss. */
    private double sweepRows(int r0, int r1, int start, int count, float[][] u, FloatBuffer wb, FloatBuffer eb,
                             byte[] codes, float[] scales, float[] zeros) {
        float[] wr = new float[count];
        float[] er = new float[count];
        float[] group = layout.groupSize() > count ? new float[layout.groupSize()] : null;
        int[] columnBlock = layout.columnBlock();
        boolean[] fitAt = layout.fitAt();
        double loss = 0;
        for (int r = r0; r < r1; r++) {
            wb.get(r * n + start, wr, 0, count);
            int paramBase = r * layout.rowStride();
            int codeBase = r * n;
            for (int i = 0; i < count; i++) {
                int col = start + i;
                int param = paramBase + columnBlock[col];
                if (fitAt[col]) {
                    fitGroup(r, col, i, count, wr, wb, group, scales, zeros, param);
                }
                float scale = scales[param];
                float zero = zeros[param];
                float v = wr[i];
                int code = grid.code(v, scale, zero);
                codes[codeBase + order[col]] = (byte) code;
                float[] ui = u[i];
                float e = (v - grid.value(code, scale, zero)) / ui[i];
                er[i] = e;
                loss += 0.5 * e * e;
                for (int j = i + 1; j < count; j++) {
                    wr[j] -= e * ui[j];
                }
            }
            eb.put(r * count, er, 0, count);
        }
        return loss;
    }

    /**
     * Fits the parameters of the group starting at position {@code col} on row {@code r}'s current
     * values: from the block slice when the group lies in the block, else (the group starts the block
     * and is longer than it) from W, whose later columns hold every update made before the block.
     */
    private void fitGroup(int r, int col, int i, int count, float[] wr, FloatBuffer wb, float[] group,
                          float[] scales, float[] zeros, int param) {
        int g = layout.groupSize();
        IntGrid.Params p;
        try {
            if (i + g <= count) {
                p = range.fit(grid, wr, i, g);
            } else {
                wb.get(r * n + col, group, 0, g);
                p = range.fit(grid, group, 0, g);
            }
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("layer '" + layer + "', row " + r + ", group " + (col / g) + ": "
                    + e.getMessage(), e);
        }
        scales[param] = p.scale();
        zeros[param] = p.zero();
    }
}
