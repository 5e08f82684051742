package org.quant4j.ptq;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Every native routine the solver uses, against known answers. */
class NativeLinearAlgebraTest {
    @Test
    void choleskyOfAKnownMatrixWritesOnlyTheLowerTriangle() {
        // the classic example: [[4,12,-16],[12,37,-43],[-16,-43,98]] = L Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]]
        INDArray a = Nd4j.create(new float[] {4, 12, -16, 12, 37, -43, -16, -43, 98}, new long[] {3, 3}, DataType.FLOAT);
        a.putScalar(0, 1, 111f); // the strict upper triangle is neither read nor written
        a.putScalar(0, 2, 222f);
        a.putScalar(1, 2, 333f);
        assertThat(NativeLinearAlgebra.choleskyLower(NativeLinearAlgebra.pointer(a), 3)).isZero();
        assertThat(a.data().asFloat()).containsExactly(2, 111, 222, 6, 1, 333, -8, 5, 3);
    }

    @Test
    void choleskyReportsTheFirstNonPositiveMinor() {
        INDArray a = Nd4j.create(new float[] {1, 2, 0, 2, 1, 0, 0, 0, 1}, new long[] {3, 3}, DataType.FLOAT);
        assertThat(NativeLinearAlgebra.choleskyLower(NativeLinearAlgebra.pointer(a), 3)).isEqualTo(2);
    }

    @Test
    void inverseOfAKnownLowerTriangularMatrix() {
        // inverse of [[2,0,0],[6,1,0],[-8,5,3]] is [[1/2,0,0],[-3,1,0],[19/3,-5/3,1/3]]
        INDArray l = Nd4j.create(new float[] {2, 9, 9, 6, 1, 9, -8, 5, 3}, new long[] {3, 3}, DataType.FLOAT);
        assertThat(NativeLinearAlgebra.invertLowerTriangular(NativeLinearAlgebra.pointer(l), 3)).isZero();
        float[] expected = {0.5f, 9, 9, -3, 1, 9, 19f / 3, -5f / 3, 1f / 3};
        float[] actual = l.data().asFloat();
        for (int i = 0; i < 9; i++) {
            assertThat(actual[i]).isCloseTo(expected[i], Offset.offset(1e-6f));
        }
    }

    @Test
    void factorAndInverseOfALargeRandomMatrixReproduceTheIdentity() {
        int n = 300;
        Random random = new Random(5);
        INDArray x = Nd4j.create(SyntheticLayer.gaussian(random, 2 * n * n, 1f), new long[] {2 * n, n}, DataType.FLOAT);
        INDArray h = x.transpose().mmul(x).divi(2 * n);
        INDArray f = h.dup('c');
        assertThat(NativeLinearAlgebra.choleskyLower(NativeLinearAlgebra.pointer(f), n)).isZero();
        INDArray lower = lowerTriangle(f, n);
        assertThat(lower.mmul(lower.transpose()).sub(h).amaxNumber().doubleValue()).isLessThan(1e-4);
        assertThat(NativeLinearAlgebra.invertLowerTriangular(NativeLinearAlgebra.pointer(f), n)).isZero();
        INDArray inverse = lowerTriangle(f, n);
        assertThat(inverse.mmul(lower).sub(Nd4j.eye(n).castTo(DataType.FLOAT)).amaxNumber().doubleValue())
                .isLessThan(1e-3);
    }

    @Test
    void gemmOnSubMatricesWithLeadingDimensions() {
        Random random = new Random(2);
        INDArray a = Nd4j.create(SyntheticLayer.gaussian(random, 6 * 10, 1f), new long[] {6, 10}, DataType.FLOAT);
        INDArray b = Nd4j.create(SyntheticLayer.gaussian(random, 9 * 7, 1f), new long[] {9, 7}, DataType.FLOAT);
        INDArray c = Nd4j.create(SyntheticLayer.gaussian(random, 5 * 8, 1f), new long[] {5, 8}, DataType.FLOAT);
        INDArray expected = c.dup();
        // C[1:5, 2:7] = C[1:5, 2:7] - A[1:5, 3:6] · B[4:7, 2:7]
        INDArray product = a.get(interval(1, 5), interval(3, 6)).mmul(b.get(interval(4, 7), interval(2, 7)));
        expected.get(interval(1, 5), interval(2, 7)).subi(product);
        NativeLinearAlgebra.gemm(4, 5, 3, -1f, NativeLinearAlgebra.at(NativeLinearAlgebra.pointer(a), 1 * 10 + 3), 10,
                NativeLinearAlgebra.at(NativeLinearAlgebra.pointer(b), 4 * 7 + 2), 7, 1f,
                NativeLinearAlgebra.at(NativeLinearAlgebra.pointer(c), 1 * 8 + 2), 8);
        float[] actual = c.data().asFloat();
        float[] wanted = expected.data().asFloat();
        for (int i = 0; i < actual.length; i++) {
            assertThat(actual[i]).isCloseTo(wanted[i], Offset.offset(1e-5f));
        }
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex interval(int from, int to) {
        return org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to);
    }

    private static INDArray lowerTriangle(INDArray a, int n) {
        float[] v = a.data().asFloat();
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                v[i * n + j] = 0;
            }
        }
        return Nd4j.create(v, new long[] {n, n}, DataType.FLOAT);
    }
}
