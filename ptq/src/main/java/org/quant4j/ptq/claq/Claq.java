package org.quant4j.ptq.claq;

import org.quant4j.ptq.WeightSolver;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.gptq.InverseHessianFactor;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.StoredWeight;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.BitPacker;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Half;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;

/**
 * CLAQ, Column-Level Adaptive weight Quantization (Wang, Liu, Shao, Xiao, Zeng, Wan, Qian: "CLAQ: Pushing
 * the Limits of Low-Bit Post-Training Quantization for LLMs", 2024; reference code fayuge/CLAQ): GPTQ's
 * error-compensating column loop in which every input column gets its own k-means codebook (the paper's
 * "K-Means based quantization"), the columns with most outliers get wider codes ("Outlier Order" and
 * "Adaptive Precision") and a few extreme weights per column are kept in FP16 ("Outlier Reservation").
 * {@link ClaqParams} documents the options and {@link ClaqSweep} the loop.
 *
 * <p>An ordinary {@link WeightSolver} that takes no spec ({@link #usesSpec()} is false): its result is a
 * {@link ClaqTensor} (codebooks, per-column widths, sparse outliers), which no {@link QuantSpec} describes.
 * Weights are {@code [out, in]} (any rank: {@code shape[0] × rest}), finite and within the FP16 range.
 */
public final class Claq implements WeightSolver {
    private final ClaqParams params;

    public Claq(ClaqParams params) {
        this.params = Objects.requireNonNull(params, "params");
    }

    public ClaqParams params() {
        return params;
    }

    @Override
    public String name() {
        return "claq";
    }

    @Override
    public boolean needsCalibration() {
        return true;
    }

    @Override
    public boolean usesSpec() {
        return false;
    }

    /** {@link #solveDetailed}; {@code spec} is unused (the widths are {@link #params()}'s). */
    @Override
    public Solution quantize(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        ClaqTensor c = solveDetailed(layer, w, stats).tensor();
        return new Solution(new StoredWeight.Codebooks(c), String.format(Locale.ROOT, "%.3f code bits, %d outliers",
                c.averageCodeBits(), c.outlierCount()));
    }

    /** The outcome of one layer: the tensor, the damping used and GPTQ's proxy loss. */
    public record Result(ClaqTensor tensor, double percDamp, double proxyLoss) {}

    /** Quantizes one layer's weight with its calibration statistics (the Hessian is used). */
    public ClaqTensor solve(String layer, INDArray w, LayerStats stats) {
        return solveDetailed(layer, w, stats).tensor();
    }

    /** {@link #solve}, also reporting the damping used and the proxy loss. */
    public Result solveDetailed(String layer, INDArray w, LayerStats stats) {
        if (stats == null || stats.rowCount() == 0) {
            throw new InvalidTensorException("layer '" + layer + "': CLAQ needs calibration statistics, but "
                    + (stats == null ? "none were given" : "no calibration rows were accumulated"));
        }
        long cols = columns(layer, w);
        if (stats.inFeatures() != cols) {
            throw new InvalidTensorException("layer '" + layer + "': the weight has " + cols + " input columns (shape "
                    + Arrays.toString(w.shape()) + ") but the statistics were collected for " + stats.inFeatures()
                    + " inputs");
        }
        return run(layer, w, stats.hessian());
    }

    /** CLAQ with a given Hessian ({@code [in, in]}, symmetric positive semi-definite; not modified). */
    public Result solveWithHessian(String layer, INDArray w, INDArray hessian) {
        long cols = columns(layer, w);
        if (hessian.rank() != 2 || hessian.size(0) != cols || hessian.size(1) != cols) {
            throw new InvalidTensorException("layer '" + layer + "': the Hessian must be [" + cols + ", " + cols
                    + "] for a weight of shape " + Arrays.toString(w.shape()) + ", got " + Arrays.toString(hessian.shape()));
        }
        return run(layer, w, hessian.castTo(DataType.FLOAT).dup('c'));
    }

    /** Runs CLAQ using {@code h} (owned, c-order float) as workspace; closes it. */
    private Result run(String layer, INDArray w, INDArray h) {
        try {
            long[] shape = w.shape();
            int rows = (int) shape[0];
            int n = (int) (w.length() / rows);
            float[] data = w.castTo(DataType.FLOAT).dup('c').data().asFloat();
            checkWeights(layer, data, n);
            FloatBuffer hb = h.data().asNioFloat();
            boolean[] dead = Gptq.markDeadInputs(layer, hb, n);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < n; c++) {
                    if (dead[c]) {
                        data[r * n + c] = 0f;
                    }
                }
            }
            ClaqColumnPlan plan = ClaqColumnPlan.of(data, rows, n, params);
            float[] diag = new float[n];
            for (int i = 0; i < n; i++) {
                diag[i] = hb.get(i * n + i);
            }
            int[] order = params.actOrder() ? Gptq.descendingOrder(diag) : IntStream.range(0, n).toArray();
            double damp = InverseHessianFactor.factorInPlace(layer, h, order, params.percDamp(), params.maxPercDamp());
            float[] permuted = new float[data.length];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < n; j++) {
                    permuted[r * n + j] = data[r * n + order[j]];
                }
            }
            ClaqSweep.Columns columns = new ClaqSweep.Columns(new float[n][], new byte[n][], new int[n][], new float[n][]);
            double loss;
            try (INDArray work = org.nd4j.linalg.factory.Nd4j.create(permuted, new long[] {rows, n}, 'c')) {
                loss = new ClaqSweep(params, plan, order, rows).run(work, h, columns);
            }
            return new Result(assemble(shape, rows, n, plan, columns), damp, loss);
        } finally {
            h.close();
        }
    }

    private static ClaqTensor assemble(long[] shape, int rows, int n, ClaqColumnPlan plan, ClaqSweep.Columns columns) {
        byte[] bits = plan.bits();
        long centroidCount = 0;
        long codeBytes = 0;
        int outliers = 0;
        for (int c = 0; c < n; c++) {
            centroidCount += 1L << bits[c];
            codeBytes += ClaqTensor.columnCodeBytes(rows, bits[c]);
            outliers += columns.outlierRows()[c].length;
        }
        float[] centroids = new float[Math.toIntExact(centroidCount)];
        byte[] codes = new byte[Math.toIntExact(codeBytes)];
        int[] start = new int[n + 1];
        int[] outlierRows = new int[outliers];
        float[] outlierValues = new float[outliers];
        int centroidAt = 0;
        int codeAt = 0;
        for (int c = 0; c < n; c++) {
            float[] codebook = columns.codebooks()[c];
            System.arraycopy(codebook, 0, centroids, centroidAt, codebook.length);
            centroidAt += codebook.length;
            BitPacker.pack(columns.codes()[c], 0, rows, bits[c], codes, codeAt);
            codeAt += (int) ClaqTensor.columnCodeBytes(rows, bits[c]);
            int[] rowsOfColumn = columns.outlierRows()[c];
            System.arraycopy(rowsOfColumn, 0, outlierRows, start[c], rowsOfColumn.length);
            System.arraycopy(columns.outlierValues()[c], 0, outlierValues, start[c], rowsOfColumn.length);
            start[c + 1] = start[c] + rowsOfColumn.length;
        }
        return new ClaqTensor(shape, bits, EncodedArray.encode(NumberEncoding.FP16, 16, centroids), codes, start,
                outlierRows, EncodedArray.encode(NumberEncoding.FP16, 16, outlierValues));
    }

    private static void checkWeights(String layer, float[] data, int n) {
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i]) || Math.abs(data[i]) > Half.MAX) {
                throw new InvalidTensorException("layer '" + layer + "': weight " + data[i] + " at row " + (i / n)
                        + ", column " + (i % n) + "; CLAQ needs finite weights within the FP16 range (±" + Half.MAX + ")");
            }
        }
    }

    private static long columns(String layer, INDArray w) {
        if (w.rank() < 2 || w.length() == 0) {
            throw new InvalidTensorException("layer '" + layer + "': CLAQ needs a non-empty [out, in] weight, got shape "
                    + Arrays.toString(w.shape()));
        }
        if (w.size(0) > Integer.MAX_VALUE || w.length() > Integer.MAX_VALUE - 8) {
            throw new InvalidTensorException("layer '" + layer + "': weight of shape " + Arrays.toString(w.shape())
                    + " is too large for one array");
        }
        return w.length() / w.size(0);
    }

    @Override
    public String toString() {
        return params.toString();
    }
}
