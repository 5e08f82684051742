package org.quant4j.ptq.gptq;

import java.util.Comparator;
import java.util.stream.IntStream;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.formats.IntGrid;

/**
 * GPTQ as Algorithm 1 of Frantar et al. (ICLR 2023) states it, written independently of the solver:
 * double precision, no blocks, column by column over all rows, the inverse Hessian's upper Cholesky
 * factor computed the textbook way ({@code L = chol(H)}, {@code H⁻¹ = L⁻ᵀL⁻¹}, {@code U = chol(H⁻¹)ᵀ}).
 *
 * <p>Float and double arithmetic may disagree on which way a value lying within {@link #TIE} (in grid
 * steps) of a rounding midpoint rounds. Only there the textbook follows the solver's code (which must
 * then be one of the two neighbours); the times it rounds the other way than double would are
 * counted in {@link #ties}.
 */
public final class TextbookGptq {
    static final double TIE = 1e-4;

    private final QuantSpec spec;
    private final IntGrid grid;
    private final boolean actOrder;
    private final boolean staticGroups;
    private final double percDamp;
    int ties;

    TextbookGptq(QuantSpec spec, boolean actOrder, boolean staticGroups, double percDamp) {
        this.spec = spec;
        this.grid = IntGrid.of(spec);
        this.actOrder = actOrder;
        this.staticGroups = staticGroups;
        this.percDamp = percDamp;
    }

    /**
     * @param w0          weights, row-major {@code rows×n}
     * @param h0          the Hessian, row-major {@code n×n}
     * @param solverCodes the solver's codes (row-major, original column order), consulted at ties only
     * @return the dequantized weights in original column order
     */
    double[] run(float[] w0, int rows, int n, float[] h0, byte[] solverCodes) {
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
        for (int i = 0; i < n; i++) { // dead inputs
            if (h[i][i] == 0) {
                h[i][i] = 1;
                for (int r = 0; r < rows; r++) {
                    w[r][i] = 0;
                }
            }
        }
        int g = spec.granularity().kind() == Granularity.Kind.GROUP ? spec.granularity().groupSize() : 0;
        IntGrid.Params[][] fixed = fixedParams(w, rows, n, g);
        double[][] diag = h;
        int[] perm = actOrder
                ? IntStream.range(0, n).boxed().sorted(Comparator.comparingDouble((Integer i) -> -diag[i][i])
                        .thenComparingInt(i -> i)).mapToInt(Integer::intValue).toArray()
                : IntStream.range(0, n).toArray();
        double[][] wp = new double[rows][n];
        double[][] hp = new double[n][n];
        for (int j = 0; j < n; j++) {
            for (int r = 0; r < rows; r++) {
                wp[r][j] = w[r][perm[j]];
            }
            for (int k = 0; k < n; k++) {
                hp[j][k] = h[perm[j]][perm[k]];
            }
        }
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += hp[i][i] / n;
        }
        for (int i = 0; i < n; i++) {
            hp[i][i] += percDamp * mean;
        }
        double[][] u = upperCholeskyOfInverse(hp, n);

        double[] q = new double[rows * n];
        IntGrid.Params[] current = new IntGrid.Params[rows];
        for (int j = 0; j < n; j++) {
            int col = perm[j];
            for (int r = 0; r < rows; r++) {
                IntGrid.Params p;
                if (g > 0 && !staticGroups) {
                    if (j % g == 0) {
                        float[] values = new float[g];
                        for (int k = 0; k < g; k++) {
                            values[k] = (float) wp[r][j + k];
                        }
                        current[r] = grid.fit(values, 0, g);
                    }
                    p = current[r];
                } else {
                    p = fixed[r][g > 0 ? col / g : 0];
                }
                int code = round(wp[r][j], p, solverCodes[r * n + col] & 0xFF);
                double value = (code - (double) p.zero()) * p.scale();
                q[r * n + col] = value;
                double err = (wp[r][j] - value) / u[j][j];
                for (int k = j + 1; k < n; k++) {
                    wp[r][k] -= err * u[j][k];
                }
            }
        }
        return q;
    }

    /** Per-tensor, per-channel or static-group parameters, fitted on the (dead-zeroed) original weights. */
    private IntGrid.Params[][] fixedParams(double[][] w, int rows, int n, int g) {
        IntGrid.Params[][] params = new IntGrid.Params[rows][];
        switch (spec.granularity().kind()) {
            case TENSOR -> {
                float[] all = new float[rows * n];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < n; c++) {
                        all[r * n + c] = (float) w[r][c];
                    }
                }
                IntGrid.Params p = grid.fit(all, 0, all.length);
                for (int r = 0; r < rows; r++) {
                    params[r] = new IntGrid.Params[] {p};
                }
            }
            case CHANNEL -> {
                for (int r = 0; r < rows; r++) {
                    params[r] = new IntGrid.Params[] {grid.fit(toFloat(w[r], 0, n), 0, n)};
                }
            }
            case GROUP -> {
                for (int r = 0; r < rows; r++) {
                    params[r] = new IntGrid.Params[n / g];
                    for (int k = 0; k < n / g; k++) {
                        params[r][k] = grid.fit(toFloat(w[r], k * g, g), 0, g);
                    }
                }
            }
        }
        return params;
    }

    /** Nearest code of {@code v}; within {@link #TIE} of a midpoint, the solver's code if it is a neighbour. */
    private int round(double v, IntGrid.Params p, int solverCode) {
        double zero = p.zero();
        double t = Math.min(Math.max(v / p.scale() + zero, 0), grid.maxCode());
        double distanceToMidpoint = Math.abs(t - Math.floor(t) - 0.5);
        if (distanceToMidpoint < TIE && t < grid.maxCode() && t > 0) {
            int lower = (int) Math.floor(t);
            if (solverCode == lower || solverCode == lower + 1) {
                if (solverCode != (int) Math.rint(t)) {
                    ties++;
                }
                return solverCode;
            }
        }
        return (int) Math.rint(t);
    }

    private static float[] toFloat(double[] v, int from, int length) {
        float[] f = new float[length];
        for (int i = 0; i < length; i++) {
            f[i] = (float) v[from + i];
        }
        return f;
    }

    /** {@code U} upper with {@code UᵀU = H⁻¹}: {@code L = chol(H)}, {@code H⁻¹ = L⁻ᵀL⁻¹}, {@code U = chol(H⁻¹)ᵀ}. */
    public static double[][] upperCholeskyOfInverse(double[][] h, int n) {
        double[][] l = cholesky(h, n);
        double[][] li = new double[n][n]; // L⁻¹ by forward substitution, column by column
        for (int c = 0; c < n; c++) {
            for (int i = c; i < n; i++) {
                double s = i == c ? 1 : 0;
                for (int k = c; k < i; k++) {
                    s -= l[i][k] * li[k][c];
                }
                li[i][c] = s / l[i][i];
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = i; k < n; k++) { // (L⁻ᵀL⁻¹)_ij = Σ_k L⁻¹_ki L⁻¹_kj, k >= max(i, j)
                    s += li[k][i] * li[k][j];
                }
                inv[i][j] = s;
                inv[j][i] = s;
            }
        }
        double[][] lowerOfInverse = cholesky(inv, n);
        double[][] u = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                u[i][j] = lowerOfInverse[j][i];
            }
        }
        return u;
    }

    static double[][] cholesky(double[][] a, int n) {
        double[][] l = new double[n][n];
        for (int j = 0; j < n; j++) {
            double d = a[j][j];
            for (int k = 0; k < j; k++) {
                d -= l[j][k] * l[j][k];
            }
            if (!(d > 0)) {
                throw new ArithmeticException("not positive definite at " + j);
            }
            l[j][j] = Math.sqrt(d);
            for (int i = j + 1; i < n; i++) {
                double s = a[i][j];
                for (int k = 0; k < j; k++) {
                    s -= l[i][k] * l[j][k];
                }
                l[i][j] = s / l[j][j];
            }
        }
        return l;
    }
}
