package org.quant4j.ptq.gptq;

import org.quant4j.ptq.SyntheticLayer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

class InverseHessianFactorTest {
    private static final int N = 40;

    @Test
    void upperFactorOfTheDampedPermutedInverse() {
        Random random = new Random(11);
        float[] x = SyntheticLayer.gaussian(random, 3 * N * N, 1f);
        INDArray xs = Nd4j.create(x, new long[] {3 * N, N}, DataType.FLOAT);
        INDArray h = xs.transpose().mmul(xs).muli(2.0 / (3 * N));
        int[] order = shuffled(random);
        float[] h0 = h.dup('c').data().asFloat();

        INDArray work = h.dup('c');
        double used = InverseHessianFactor.factorInPlace("fc", work, order, 0.01, 10);
        assertThat(used).isEqualTo(0.01);

        double[][] expected = expectedFactor(h0, order, 0.01);
        float[] u = work.data().asFloat();
        for (int i = 0; i < N; i++) {
            for (int j = i; j < N; j++) {
                assertThat((double) u[i * N + j]).as("U[%d][%d]", i, j)
                        .isCloseTo(expected[i][j], org.assertj.core.data.Offset.offset(1e-4 * Math.abs(expected[i][i])));
            }
        }
    }

    @Test
    void escalatesDampingOnAnIndefiniteMatrixAndReportsHopelessOnes() {
        // eigenvalues 1 + 3 = 4 and 1 - 3 = -2 in each 2×2 block; mean diagonal 1: needs damping above 2
        INDArray indefinite = Nd4j.zeros(DataType.FLOAT, 4, 4);
        for (int b = 0; b < 4; b += 2) {
            indefinite.putScalar(b, b, 1f);
            indefinite.putScalar(b + 1, b + 1, 1f);
            indefinite.putScalar(b, b + 1, 3f);
            indefinite.putScalar(b + 1, b, 3f);
        }
        INDArray work = indefinite.dup('c');
        assertThat(InverseHessianFactor.factorInPlace("fc", work, new int[] {0, 1, 2, 3}, 0.01, 10)).isEqualTo(10.0, org.assertj.core.data.Offset.offset(1e-9));
        for (float v : work.data().asFloat()) {
            assertThat(v).isFinite();
        }
        assertThatThrownBy(() -> InverseHessianFactor.factorInPlace("blocks.3.mlp", indefinite.dup('c'),
                new int[] {0, 1, 2, 3}, 0.01, 1))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("blocks.3.mlp")
                .hasMessageContaining("not positive definite");
    }

    private static int[] shuffled(Random random) {
        List<Integer> list = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            list.add(i);
        }
        Collections.shuffle(list, random);
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    /** U upper, UᵀU = (H_π + λI)⁻¹, the textbook way in double. */
    private static double[][] expectedFactor(float[] h, int[] order, double percDamp) {
        double[][] hp = new double[N][N];
        double mean = 0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                hp[i][j] = h[order[i] * N + order[j]];
            }
            mean += hp[i][i] / N;
        }
        for (int i = 0; i < N; i++) {
            hp[i][i] += percDamp * mean;
        }
        return TextbookGptq.upperCholeskyOfInverse(hp, N);
    }
}
