package org.quant4j.ptq.gptq;

import org.quant4j.ptq.NativeLinearAlgebra;
import org.quant4j.ptq.SymmetricPermutation;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidTensorException;

/**
 * The upper Cholesky factor of the damped inverse Hessian that GPTQ's Algorithm 1 walks (Frantar et
 * al., ICLR 2023, §3 "Step 3: Cholesky reformulation"): {@code (H_π + λI)⁻¹ = UᵀU} with {@code U} upper
 * triangular, {@code H_π} the Hessian with rows and columns in processing order {@code π} and
 * {@code λ = percDamp · mean(diag H)}.
 *
 * <p>Route, in place in the Hessian's own memory: with {@code J} the exchange matrix (index reversal),
 * factor {@code J(H_π+λI)J = L'L'ᵀ} (one {@code spotrf}), invert {@code L'} (one {@code strtri}) and
 * reverse both indices. Then {@code R = J L' J} is upper triangular with {@code H_π+λI = R Rᵀ}, so
 * {@code (H_π+λI)⁻¹ = R⁻ᵀR⁻¹} and {@code U = R⁻¹ = J L'⁻¹ J} — the unique upper factor with positive
 * diagonal, i.e. what the reference computes as {@code cholesky(cholesky_inverse(cholesky(H)), upper)},
 * for half the flops (two {@code n³/3} factorizations instead of four) and no second matrix. The
 * reversal is folded into the symmetric permutation.
 *
 * <p>When the factorization fails (the damped matrix is not numerically positive definite) or the
 * inverse overflows, the damping is multiplied by 10 (or set to 0.01 when it was 0) and the factorization retried from the untouched
 * strict upper triangle, up to {@code maxPercDamp}; beyond that the layer is reported.
 */
public final class InverseHessianFactor {
    private InverseHessianFactor() {}

    /**
     * Overwrites {@code h} ({@code n×n}, float, c order, finite, diagonal already free of zeros) so that
     * its upper triangle (diagonal included) is {@code U} for processing order {@code order}.
     *
     * @return the relative damping used (percDamp, or the escalated value)
     * @throws InvalidTensorException naming the layer if no damping up to maxPercDamp gives a factor
     */
    public static double factorInPlace(String layer, INDArray h, int[] order, double percDamp, double maxPercDamp) {
        int n = order.length;
        FloatBuffer a = h.data().asNioFloat();
        SymmetricPermutation.apply(a, n, reversed(order));
        float[] diag = new float[n];
        for (int i = 0; i < n; i++) {
            diag[i] = a.get(i * n + i);
        }
        return factor(layer, a, NativeLinearAlgebra.pointer(h), n, diag, percDamp, maxPercDamp);
    }

    /**
     * {@link #factorInPlace} of a copy: writes {@code U} into the upper triangle of {@code target}
     * ({@code n×n} row-major floats at {@code targetPointer}), reading the Hessian from {@code source},
     * which is not modified, with its diagonal taken from {@code diagonal} (where dead inputs are 1).
     * The copy and the permutation are one pass.
     */
    static double factorCopy(String layer, FloatBuffer source, float[] diagonal, FloatBuffer target,
                             FloatPointer targetPointer, int[] order, double percDamp, double maxPercDamp) {
        int n = order.length;
        int[] reversedOrder = reversed(order);
        SymmetricPermutation.copy(source, target, n, reversedOrder);
        float[] diag = new float[n];
        for (int i = 0; i < n; i++) {
            diag[i] = diagonal[reversedOrder[i]];
        }
        return factor(layer, target, targetPointer, n, diag, percDamp, maxPercDamp);
    }

    private static int[] reversed(int[] order) {
        int n = order.length;
        int[] reversedOrder = new int[n];
        for (int i = 0; i < n; i++) {
            reversedOrder[i] = order[n - 1 - i];
        }
        return reversedOrder;
    }

    /** The factorization loop on {@code J(H_π)J} in {@code a}, whose diagonal is {@code diag} (undamped). */
    private static double factor(String layer, FloatBuffer a, FloatPointer p, int n, float[] diag, double percDamp,
                                 double maxPercDamp) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += diag[i];
        }
        double meanDiag = sum / n;
        double relative = percDamp;
        while (true) {
            float damp = (float) (relative * meanDiag);
            for (int i = 0; i < n; i++) {
                a.put(i * n + i, diag[i] + damp);
            }
            if (NativeLinearAlgebra.choleskyLower(p, n) == 0 && NativeLinearAlgebra.invertLowerTriangular(p, n) == 0
                    && lowerIsFinite(a, n)) {
                SymmetricPermutation.reverseBoth(a, n);
                return relative;
            }
            double next = relative == 0 ? Gptq.DEFAULT_PERC_DAMP : relative * 10;
            if (next > maxPercDamp * (1 + 1e-9)) {
                throw new InvalidTensorException("layer '" + layer + "': the Hessian is not positive definite even with"
                        + " damping " + relative + " × its mean diagonal (" + meanDiag + "); the calibration inputs"
                        + " may be degenerate, or raise maxPercDamp (now " + maxPercDamp + ")");
            }
            SymmetricPermutation.mirrorUpperToLower(a, n);
            relative = next;
        }
    }

    private static boolean lowerIsFinite(FloatBuffer a, int n) {
        return IntStream.range(0, SymmetricPermutation.parallelSlices(n)).parallel().allMatch(s -> {
            float[] row = new float[n];
            for (int i = SymmetricPermutation.sliceStart(n, s); i < SymmetricPermutation.sliceStart(n, s + 1); i++) {
                a.get(i * n, row, 0, i + 1);
                for (int j = 0; j <= i; j++) {
                    if (!Float.isFinite(row[j])) {
                        return false;
                    }
                }
            }
            return true;
        });
    }
}
