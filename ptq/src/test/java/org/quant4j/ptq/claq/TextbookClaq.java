package org.quant4j.ptq.claq;

import org.quant4j.ptq.gptq.TextbookGptq;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.Half;

/**
 * CLAQ's column loop written as Algorithm 1 of GPTQ states it, independently of the solver: double
 * precision, no blocks, column by column over all rows, the textbook inverse-Hessian factor. The
 * column quantizer takes what the solver stored (each column's codebook and reserved rows) and checks
 * that, on the textbook's own error-updated values, the reserved rows are the column's extremes and
 * every stored outlier is the FP16 value of its weight; the textbook then picks nearest centroids
 * itself. Where double and float disagree within {@link #TIE} of a midpoint between centroids, the
 * solver's code is followed and counted in {@link #ties}; reserved rows that are extremes only up to
 * such noise are counted in {@link #rankTies}.
 */
final class TextbookClaq {
    static final double TIE = 1e-5;

    int ties;
    int rankTies;
    /** Largest |textbook weight − stored FP16 outlier| beyond the FP16 rounding of that weight. */
    double worstOutlierMismatch;

    /**
     * @return the dequantized weights in original column order
     */
    double[] run(float[] w0, int rows, int n, float[] h0, ClaqTensor solved, boolean actOrder, double percDamp) {
        double[][] w = new double[rows][n];
        double[][] h = new double[n][n];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < n; c++) {
                w[r][c] = w0[r * n + c];
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                h[i][j] = h0[i * n + j];
            }
        }
        for (int i = 0; i < n; i++) {
            if (h[i][i] == 0) {
                h[i][i] = 1;
                for (int r = 0; r < rows; r++) {
                    w[r][i] = 0;
                }
            }
        }
        int[] perm = actOrder
                ? IntStream.range(0, n).boxed().sorted(Comparator.comparingDouble((Integer i) -> -h[i][i])
                        .thenComparingInt(i -> i)).mapToInt(Integer::intValue).toArray()
                : IntStream.range(0, n).toArray();
        double[][] wp = new double[rows][n];
        double[][] hp = new double[n][n];
        double mean = 0;
        for (int j = 0; j < n; j++) {
            for (int r = 0; r < rows; r++) {
                wp[r][j] = w[r][perm[j]];
            }
            for (int k = 0; k < n; k++) {
                hp[j][k] = h[perm[j]][perm[k]];
            }
            mean += hp[j][j] / n;
        }
        for (int i = 0; i < n; i++) {
            hp[i][i] += percDamp * mean;
        }
        double[][] u = TextbookGptq.upperCholeskyOfInverse(hp, n);
        int[] start = solved.outlierColumnStart();
        int[] outlierRows = solved.outlierRows();
        float[] outlierValues = solved.outlierValues().values();
        double[] q = new double[rows * n];
        double[] column = new double[rows];
        for (int j = 0; j < n; j++) {
            int col = perm[j];
            for (int r = 0; r < rows; r++) {
                column[r] = wp[r][j];
            }
            double[] value = quantizeColumn(column, solved.codebook(col), solved.columnCodes(col),
                    Arrays.copyOfRange(outlierRows, start[col], start[col + 1]),
                    Arrays.copyOfRange(outlierValues, start[col], start[col + 1]));
            for (int r = 0; r < rows; r++) {
                q[r * n + col] = value[r];
                double err = (wp[r][j] - value[r]) / u[j][j];
                for (int k = j + 1; k < n; k++) {
                    wp[r][k] -= err * u[j][k];
                }
            }
        }
        return q;
    }

    private double[] quantizeColumn(double[] column, float[] codebook, byte[] solverCodes, int[] reservedRows,
                                    float[] reservedValues) {
        int rows = column.length;
        checkExtremes(column, reservedRows);
        double[] value = new double[rows];
        boolean[] reserved = new boolean[rows];
        for (int k = 0; k < reservedRows.length; k++) {
            int r = reservedRows[k];
            reserved[r] = true;
            value[r] = reservedValues[k];
            float fp16 = Half.toFloat(Half.fromFloat((float) column[r]));
            worstOutlierMismatch = Math.max(worstOutlierMismatch, Math.abs(fp16 - reservedValues[k]));
        }
        for (int r = 0; r < rows; r++) {
            if (!reserved[r]) {
                value[r] = codebook[nearest(codebook, column[r], solverCodes[r] & 0xFF)];
            }
        }
        return value;
    }

    /** The reserved rows must be the {@code m} largest and {@code m} smallest values (up to noise at the boundary). */
    private void checkExtremes(double[] column, int[] reservedRows) {
        int m = reservedRows.length / 2;
        if (m == 0) {
            return;
        }
        double[] sorted = column.clone();
        Arrays.sort(sorted);
        double low = sorted[m - 1];
        double high = sorted[sorted.length - m];
        for (int r : reservedRows) {
            double v = column[r];
            if (!(v <= low || v >= high)) {
                if (Math.min(Math.abs(v - low), Math.abs(v - high)) < 1e-6) {
                    rankTies++;
                } else {
                    throw new AssertionError("reserved row " + r + " value " + v + " is not among the " + m
                            + " extremes on each side (bounds " + low + ", " + high + ")");
                }
            }
        }
    }

    /** Nearest centroid in double; within {@link #TIE} of a midpoint, the solver's code when it is one of the two. */
    private int nearest(float[] codebook, double v, int solverCode) {
        int best = 0;
        int second = -1;
        for (int i = 1; i < codebook.length; i++) {
            double d = Math.abs(v - codebook[i]);
            if (d < Math.abs(v - codebook[best])) {
                second = best;
                best = i;
            } else if (second < 0 || d < Math.abs(v - codebook[second])) {
                second = i;
            }
        }
        if (second >= 0 && codebook[second] != codebook[best]
                && Math.abs(Math.abs(v - codebook[second]) - Math.abs(v - codebook[best])) < TIE
                && codebook[solverCode] == codebook[second]) {
            ties++;
            return solverCode;
        }
        return best;
    }
}
