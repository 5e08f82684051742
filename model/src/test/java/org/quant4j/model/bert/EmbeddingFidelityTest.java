package org.quant4j.model.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

class EmbeddingFidelityTest {

    @Test
    void identicalEmbeddingsAgreeFully() {
        float[][] e = randomUnitRows(200, 32, new Random(1));
        EmbeddingFidelity.Result r = EmbeddingFidelity.compare(Nd4j.create(e), Nd4j.create(e));
        assertThat(r.meanCosine()).isCloseTo(1, within(1e-6));
        assertThat(r.minCosine()).isCloseTo(1, within(1e-6));
        assertThat(r.top1Agreement()).isEqualTo(1.0);
        assertThat(r.sentences()).isEqualTo(200);
    }

    @Test
    void neighboursOfPointsOnACircle() {
        // angles 0, 10, 30, 60, 100 degrees: nearest neighbours 1, 0, 1, 2, 3
        double[] deg = {0, 10, 30, 60, 100};
        EmbeddingFidelity.Reference ref = EmbeddingFidelity.reference(Nd4j.create(circle(deg)));
        assertThat(ref.neighbours()).containsExactly(1, 0, 1, 2, 3);
    }

    @Test
    void aKnownPermutationGivesTheHandComputedFigures() {
        double[] deg = {0, 10, 30, 60, 100};
        float[][] ref = circle(deg);
        // candidate row i is reference row p[i]: swap rows 3 and 4
        int[] p = {0, 1, 2, 4, 3};
        float[][] cand = new float[5][];
        for (int i = 0; i < 5; i++) {
            cand[i] = ref[p[i]];
        }
        EmbeddingFidelity.Result r = EmbeddingFidelity.compare(Nd4j.create(ref), Nd4j.create(cand));
        // cosines: 1, 1, 1, cos 40°, cos 40°
        double c40 = Math.cos(Math.toRadians(40));
        assertThat(r.meanCosine()).isCloseTo((3 + 2 * c40) / 5, within(1e-6));
        assertThat(r.minCosine()).isCloseTo(c40, within(1e-6));
        // candidate angles 0, 10, 30, 100, 60: neighbours 1, 0, 1, 4, 2 vs reference 1, 0, 1, 2, 3 -> 3 of 5
        assertThat(r.top1Agreement()).isEqualTo(0.6);
    }

    @Test
    void randomPermutationMatchesABruteForceCount() {
        Random random = new Random(7);
        float[][] ref = randomUnitRows(300, 16, random);
        int[] p = new int[300];
        for (int i = 0; i < p.length; i++) {
            p[i] = i;
        }
        for (int i = 0; i < 60; i++) { // permute only some rows
            int a = random.nextInt(300);
            int b = random.nextInt(300);
            int t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
        float[][] cand = new float[300][];
        for (int i = 0; i < 300; i++) {
            cand[i] = ref[p[i]];
        }
        int[] nnRef = bruteForceNeighbours(ref);
        int[] nnCand = bruteForceNeighbours(cand);
        int agree = 0;
        double cos = 0;
        for (int i = 0; i < 300; i++) {
            agree += nnRef[i] == nnCand[i] ? 1 : 0;
            cos += dot(ref[i], cand[i]);
        }
        EmbeddingFidelity.Result r = EmbeddingFidelity.compare(Nd4j.create(ref), Nd4j.create(cand));
        assertThat(r.top1Agreement()).isEqualTo(agree / 300.0).isLessThan(1.0);
        assertThat(r.meanCosine()).isCloseTo(cos / 300, within(1e-6));
    }

    @Test
    void moreNoiseIsLessFaithful() {
        Random random = new Random(3);
        float[][] ref = clusteredRows(400, 64, random);
        EmbeddingFidelity.Reference reference = EmbeddingFidelity.reference(Nd4j.create(ref));
        double lastCos = 1.0 + 1e-9;
        double lastAgree = 1.0;
        for (double sigma : new double[]{0.002, 0.02, 0.05, 0.1, 0.3}) {
            float[][] noisy = new float[ref.length][ref[0].length];
            Random r = new Random(11);
            for (int i = 0; i < ref.length; i++) {
                for (int j = 0; j < ref[0].length; j++) {
                    noisy[i][j] = (float) (ref[i][j] + sigma * r.nextGaussian());
                }
            }
            EmbeddingFidelity.Result res = reference.compare(Nd4j.create(noisy));
            assertThat(res.meanCosine()).as("sigma " + sigma).isLessThan(lastCos);
            assertThat(res.minCosine()).isLessThanOrEqualTo(res.meanCosine());
            assertThat(res.top1Agreement()).as("sigma " + sigma).isLessThanOrEqualTo(lastAgree);
            lastCos = res.meanCosine();
            lastAgree = res.top1Agreement();
        }
        assertThat(lastAgree).isLessThan(0.9);
    }

    @Test
    void rejectsMismatchedAndDegenerateInput() {
        INDArray ref = Nd4j.create(randomUnitRows(10, 8, new Random(2)));
        assertThatThrownBy(() -> EmbeddingFidelity.compare(ref, Nd4j.create(randomUnitRows(9, 8, new Random(2)))))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("[10, 8]");
        float[][] zero = randomUnitRows(10, 8, new Random(2));
        zero[4] = new float[8];
        assertThatThrownBy(() -> EmbeddingFidelity.compare(ref, Nd4j.create(zero)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("row 4");
        assertThatThrownBy(() -> EmbeddingFidelity.reference(Nd4j.create(new float[][]{{1, 0}})))
                .isInstanceOf(InvalidTensorException.class);
    }

    private static float[][] circle(double[] degrees) {
        float[][] rows = new float[degrees.length][3];
        for (int i = 0; i < degrees.length; i++) {
            rows[i][0] = (float) Math.cos(Math.toRadians(degrees[i]));
            rows[i][1] = (float) Math.sin(Math.toRadians(degrees[i]));
        }
        return rows;
    }

    private static float[][] randomUnitRows(int n, int d, Random random) {
        float[][] rows = new float[n][d];
        for (float[] row : rows) {
            for (int j = 0; j < d; j++) {
                row[j] = (float) random.nextGaussian();
            }
            normalize(row);
        }
        return rows;
    }

    /** Rows near 40 random centres, so neighbours are meaningful as with sentence embeddings. */
    private static float[][] clusteredRows(int n, int d, Random random) {
        float[][] centres = randomUnitRows(40, d, random);
        float[][] rows = new float[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                rows[i][j] = (float) (centres[i % 40][j] + 0.3 * random.nextGaussian() / Math.sqrt(d));
            }
            normalize(rows[i]);
        }
        return rows;
    }

    private static void normalize(float[] row) {
        double norm = Math.sqrt(dot(row, row));
        for (int j = 0; j < row.length; j++) {
            row[j] = (float) (row[j] / norm);
        }
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int j = 0; j < a.length; j++) {
            s += (double) a[j] * b[j];
        }
        return s;
    }

    private static int[] bruteForceNeighbours(float[][] rows) {
        int[] nn = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < rows.length; k++) {
                double c = dot(rows[i], rows[k]);
                if (k != i && c > best) {
                    best = c;
                    nn[i] = k;
                }
            }
        }
        return nn;
    }
}
