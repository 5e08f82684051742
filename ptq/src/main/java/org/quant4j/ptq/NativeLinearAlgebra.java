package org.quant4j.ptq;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.LAPACK_COL_MAJOR;
import static org.bytedeco.openblas.global.openblas.LAPACKE_spotrf;
import static org.bytedeco.openblas.global.openblas.LAPACKE_strtri;
import static org.bytedeco.openblas.global.openblas.cblas_sgemm;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Level-3 BLAS and LAPACK on the memory of float ND4J arrays, through the OpenBLAS that
 * {@code nd4j-native} itself links (JavaCPP preset). ND4J's own wrappers are not usable here at
 * 1.0.0-M2.1: {@code Nd4j.gemm} refuses a sub-matrix view as output, {@code level3().trsm} passes an
 * illegal argument to STRSM, and {@code lapack().potrf} factors through a transposed copy and then
 * zeroes the other triangle row by row. Calling the library directly gives sub-matrix operands
 * (leading dimensions) and in-place factorizations.
 *
 * <p>All matrices are row-major. LAPACK is called in column-major mode on the same memory: a
 * row-major matrix is the column-major storage of its transpose, so the row-major lower triangle is
 * LAPACK's upper triangle, and no transposed copy is made.
 */
public final class NativeLinearAlgebra {
    private NativeLinearAlgebra() {}

    /** The native memory of a float, c-order, offset-0 array. */
    public static FloatPointer pointer(INDArray a) {
        if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || a.offset() != 0) {
            throw new IllegalArgumentException("need a float c-order array at offset 0, got " + a.dataType() + " "
                    + a.ordering() + " offset " + a.offset());
        }
        return (FloatPointer) a.data().addressPointer();
    }

    /** A pointer {@code offset} floats after {@code base} (sharing its memory, not owning it). */
    public static FloatPointer at(FloatPointer base, long offset) {
        return new FloatPointer(base).position(base.position() + offset);
    }

    /**
     * {@code C ← alpha·A·B + beta·C} with row-major {@code A: m×k} (leading dimension {@code lda}),
     * {@code B: k×n} ({@code ldb}) and {@code C: m×n} ({@code ldc}).
     */
    public static void gemm(int m, int n, int k, float alpha, FloatPointer a, int lda, FloatPointer b, int ldb, float beta,
                     FloatPointer c, int ldc) {
        if (m == 0 || n == 0) {
            return;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /**
     * {@code C ← alpha·Aᵀ·B + beta·C} with {@code A} stored row-major as {@code k×m} (leading dimension
     * {@code lda}), {@code B: k×n} ({@code ldb}) and {@code C: m×n} ({@code ldc}).
     */
    public static void gemmTransposedA(int m, int n, int k, float alpha, FloatPointer a, int lda, FloatPointer b, int ldb,
                                       float beta, FloatPointer c, int ldc) {
        if (m == 0 || n == 0) {
            return;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /**
     * In-place Cholesky factorization {@code A = L·Lᵀ} of a row-major symmetric {@code n×n} matrix:
     * reads and overwrites the lower triangle (diagonal included) with {@code L}; the strict upper
     * triangle is neither read nor written.
     *
     * @return 0 on success, or {@code k > 0} when the leading minor of order {@code k} is not
     *         positive definite (the lower triangle is then partly overwritten)
     */
    public static int choleskyLower(FloatPointer a, int n) {
        return check("spotrf", LAPACKE_spotrf(LAPACK_COL_MAJOR, (byte) 'U', n, a, n));
    }

    /**
     * In-place inverse of the row-major lower triangular matrix held in the lower triangle of {@code a}
     * (non-unit diagonal); the strict upper triangle is neither read nor written.
     *
     * @return 0 on success, or {@code k > 0} when diagonal element {@code k} (1-based) is exactly zero
     */
    public static int invertLowerTriangular(FloatPointer a, int n) {
        return check("strtri", LAPACKE_strtri(LAPACK_COL_MAJOR, (byte) 'U', (byte) 'N', n, a, n));
    }

    private static int check(String routine, int info) {
        if (info < 0) {
            throw new IllegalStateException(routine + " rejected argument " + (-info)); // a bug here, not bad input
        }
        return info;
    }
}
