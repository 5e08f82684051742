package org.quant4j.ptq.claq;

import org.quant4j.ptq.NativeLinearAlgebra;
import org.quant4j.ptq.gptq.GptqSweep;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;

/**
 * GPTQ's error-compensating column loop (Frantar et al. 2023, Algorithm 1, lazy batches of columns) with
 * CLAQ's column quantizer (Wang et al. 2024; reference {@code CLAQ.fasterquant}): when column
 * {@code j} is reached, its current (error-updated) values are split into reserved outliers and inliers,
 * the inliers are clustered by {@link KMeans1D} into {@code 2^b_j} centroids (stored as FP16), every
 * weight goes to its nearest stored centroid (an outlier to its FP16 value), and the scaled error
 * {@code (w − q)/U_jj} is propagated to the later columns as in GPTQ.
 *
 * <p>One deliberate difference from the reference: it fits the k-means codebook on the whole column,
 * outliers included, and then overrides the outliers; here the codebook is fitted on the inliers only,
 * since the reserved weights never use it.
 *
 * <p>A column's k-means needs all its rows, so unlike {@link GptqSweep} (row-parallel) the block is kept
 * transposed, one {@code float[rows]} per column; the in-block updates are axpys over rows.
 */
final class ClaqSweep {
    /** Updates of at least this many elements after a column are split over threads. */
    private static final int PARALLEL_UPDATE = 1 << 17;

    private final ClaqParams params;
    private final ClaqColumnPlan plan;
    private final int[] order;
    private final int rows;
    private final int n;

    /** Per original column: FP16 centroids, codes, reserved rows (ascending) and their FP16 values. */
    record Columns(float[][] codebooks, byte[][] codes, int[][] outlierRows, float[][] outlierValues) {}

    ClaqSweep(ClaqParams params, ClaqColumnPlan plan, int[] order, int rows) {
        this.params = params;
        this.plan = plan;
        this.order = order;
        this.rows = rows;
        this.n = order.length;
    }

    /**
     * Runs the sweep over {@code w} ({@code rows×n}, columns in processing order; overwritten) with the
     * upper factor {@code u} of the damped inverse Hessian in processing order.
     *
     * @return the GPTQ proxy loss {@code Σ e²/2}
     */
    double run(INDArray w, INDArray u, Columns out) {
        FloatBuffer wb = w.data().asNioFloat();
        FloatBuffer ub = u.data().asNioFloat();
        FloatPointer wp = NativeLinearAlgebra.pointer(w);
        FloatPointer up = NativeLinearAlgebra.pointer(u);
        int blockSize = Math.min(params.blockSize(), n);
        float[][] block = new float[blockSize][rows];
        float[] rowSlice = new float[blockSize];
        float[] uRow = new float[blockSize];
        float[] error = new float[rows];
        ColumnQuantizer quantizer = new ColumnQuantizer(rows);
        double loss = 0;
        INDArray errors = Nd4j.createUninitialized(DataType.FLOAT, rows, blockSize);
        try {
            FloatBuffer eb = errors.data().asNioFloat();
            FloatPointer ep = NativeLinearAlgebra.pointer(errors);
            for (int start = 0; start < n; start += blockSize) {
                int count = Math.min(blockSize, n - start);
                for (int r = 0; r < rows; r++) {
                    wb.get(r * n + start, rowSlice, 0, count);
                    for (int i = 0; i < count; i++) {
                        block[i][r] = rowSlice[i];
                    }
                }
                for (int i = 0; i < count; i++) {
                    int position = start + i;
                    ub.get(position * n + start, uRow, 0, count);
                    loss += quantizer.quantize(order[position], block[i], uRow[i], error, out);
                    propagate(block, error, uRow, i + 1, count);
                    for (int r = 0; r < rows; r++) {
                        eb.put(r * count + i, error[r]);
                    }
                }
                int end = start + count;
                if (end < n) { // W[:, end:] -= E[:, :count] · U[start:end, end:]
                    NativeLinearAlgebra.gemm(rows, n - end, count, -1f, ep, count,
                            NativeLinearAlgebra.at(up, (long) start * n + end), n, 1f,
                            NativeLinearAlgebra.at(wp, end), n);
                }
            }
        } finally {
            errors.close();
        }
        return loss;
    }

    /** {@code block[k] -= e · uRow[k]} for {@code k} in {@code [from, count)}. */
    private void propagate(float[][] block, float[] e, float[] uRow, int from, int count) {
        if ((long) (count - from) * rows >= PARALLEL_UPDATE) {
            IntStream.range(from, count).parallel().forEach(k -> axpy(block[k], e, uRow[k]));
        } else {
            for (int k = from; k < count; k++) {
                axpy(block[k], e, uRow[k]);
            }
        }
    }

    private static void axpy(float[] target, float[] e, float factor) {
        for (int r = 0; r < target.length; r++) {
            target[r] -= e[r] * factor;
        }
    }

    /** Quantizes one column with reusable scratch buffers. */
    private final class ColumnQuantizer {
        private final long[] keys;
        private final float[] sorted;
        private final boolean[] reserved;

        ColumnQuantizer(int rows) {
            this.keys = new long[rows];
            this.sorted = new float[rows];
            this.reserved = new boolean[rows];
        }

        /**
         * Quantizes {@code column} (original column {@code c}), records the result in {@code out}, writes
         * the scaled errors {@code (w − q)/d} to {@code error}; returns {@code Σ error²/2}.
         */
        double quantize(int c, float[] column, float d, float[] error, Columns out) {
            for (int r = 0; r < rows; r++) {
                keys[r] = ((long) sortableBits(column[r]) << 32) | r;
            }
            Arrays.sort(keys);
            for (int i = 0; i < rows; i++) {
                sorted[i] = column[(int) keys[i]];
            }
            int m = plan.reservedPerTail()[c];
            int k = 1 << plan.bits()[c];
            float[] centroids = KMeans1D.fitSorted(sorted, m, rows - m, k, params.seed() * 0x9E3779B97F4A7C15L + c,
                    params.kmeansIterations()).centroids();
            for (int i = 0; i < k; i++) {
                centroids[i] = NumberEncodings.round(NumberEncoding.FP16, centroids[i]);
            }
            Arrays.fill(reserved, false);
            int[] outlierRows = new int[2 * m];
            for (int i = 0; i < m; i++) {
                outlierRows[i] = (int) keys[i];
                outlierRows[m + i] = (int) keys[rows - 1 - i];
            }
            Arrays.sort(outlierRows);
            float[] outlierValues = new float[2 * m];
            for (int i = 0; i < 2 * m; i++) {
                reserved[outlierRows[i]] = true;
                outlierValues[i] = NumberEncodings.round(NumberEncoding.FP16, column[outlierRows[i]]);
            }
            byte[] codes = new byte[rows];
            double loss = 0;
            for (int r = 0, o = 0; r < rows; r++) {
                float v = column[r];
                int code = KMeans1D.nearest(centroids, v);
                codes[r] = (byte) code;
                float q = reserved[r] ? outlierValues[o++] : centroids[code];
                float e = (v - q) / d;
                error[r] = e;
                loss += 0.5 * e * e;
            }
            out.codebooks()[c] = centroids;
            out.codes()[c] = codes;
            out.outlierRows()[c] = outlierRows;
            out.outlierValues()[c] = outlierValues;
            return loss;
        }
    }

    /** An int whose signed order is the float order of {@code v} (for finite values). */
    private static int sortableBits(float v) {
        int b = Float.floatToIntBits(v);
        return b ^ ((b >> 31) & 0x7FFFFFFF);
    }
}
