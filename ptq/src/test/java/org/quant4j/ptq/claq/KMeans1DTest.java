package org.quant4j.ptq.claq;

import org.quant4j.ptq.RealisticWeights;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The scalar k-means of CLAQ's column codebooks. */
class KMeans1DTest {
    /** Heavy-tailed values like a weight column: Gaussian, a few wide draws, a few far outliers. */
    static float[] sortedColumn(long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double g = RealisticWeights.gaussian(random);
            double u = random.nextDouble();
            v[i] = (float) (u < 0.03 ? 4 * g : u < 0.035 ? 12 * Math.signum(g) : g) * 0.02f;
        }
        Arrays.sort(v);
        return v;
    }

    @Property(tries = 60)
    void lloydNeverRaisesTheObjective(@ForAll @IntRange(min = 1, max = 4) int bits, @ForAll long seed,
                                      @ForAll @IntRange(min = 20, max = 700) int n) {
        float[] x = sortedColumn(seed, n);
        KMeans1D.Result r = KMeans1D.fitSorted(x, 0, n, 1 << bits, seed, 300);
        double[] objective = r.objective();
        for (int i = 1; i < objective.length; i++) {
            assertThat(objective[i]).as("iteration %d of %s", i, Arrays.toString(objective))
                    .isLessThanOrEqualTo(objective[i - 1] * (1 + 1e-12) + 1e-18);
        }
    }

    @Property(tries = 40)
    void theResultIsALloydFixedPoint(@ForAll @IntRange(min = 1, max = 4) int bits, @ForAll long seed) {
        float[] x = sortedColumn(seed, 512);
        KMeans1D.Result r = KMeans1D.fitSorted(x, 0, x.length, 1 << bits, seed, 300);
        float[] c = r.centroids();
        assertThat(r.iterations()).isLessThan(300);
        double[] sum = new double[c.length];
        int[] count = new int[c.length];
        for (float v : x) {
            int k = KMeans1D.nearest(c, v);
            sum[k] += v;
            count[k]++;
        }
        for (int k = 0; k < c.length; k++) {
            assertThat(count[k]).as("cluster %d of %s", k, Arrays.toString(c)).isPositive();
            assertThat((double) c[k]).isCloseTo(sum[k] / count[k], org.assertj.core.data.Offset.offset(1e-6));
        }
        assertThat(c).isSorted();
    }

    @Test
    void objectiveMatchesTheCentroidsItReturns() {
        float[] x = sortedColumn(3, 400);
        KMeans1D.Result r = KMeans1D.fitSorted(x, 0, x.length, 8, 10, 300);
        double direct = 0;
        for (float v : x) {
            double d = v - r.centroids()[KMeans1D.nearest(r.centroids(), v)];
            direct += d * d;
        }
        assertThat(r.objective()[r.objective().length - 1]).isCloseTo(direct, org.assertj.core.data.Percentage.withPercentage(1e-3));
    }

    @Test
    void wellSeparatedClustersGiveTheirMeans() {
        float[] x = {-10.5f, -10f, -9.5f, 0f, 0.25f, 0.5f, 7f, 7f, 7.3f, 7.3f};
        KMeans1D.Result r = KMeans1D.fitSorted(x, 0, x.length, 3, 1, 100);
        assertThat(r.centroids()).containsExactly(-10f, 0.25f, 7.15f);
    }

    @Test
    void fewerDistinctValuesThanCentroidsAreExact() {
        float[] x = {-1f, -1f, 2f, 2f, 2f, 5f};
        KMeans1D.Result r = KMeans1D.fitSorted(x, 0, x.length, 4, 1, 100);
        assertThat(r.centroids()).containsExactly(-1f, 2f, 5f, 5f);
        assertThat(r.objective()).containsExactly(0.0);
        float[] zeros = new float[16];
        assertThat(KMeans1D.fitSorted(zeros, 0, 16, 4, 1, 10).centroids()).containsOnly(0f);
    }

    @Test
    void aSubrangeIsClusteredAlone() {
        float[] x = {-100f, 1f, 2f, 10f, 11f, 100f};
        assertThat(KMeans1D.fitSorted(x, 1, 5, 2, 1, 100).centroids()).containsExactly(1.5f, 10.5f);
    }

    @Test
    void sameSeedSameCentroids() {
        float[] x = sortedColumn(11, 1000);
        assertThat(KMeans1D.fitSorted(x, 0, 1000, 16, 42, 300).centroids())
                .containsExactly(KMeans1D.fitSorted(x.clone(), 0, 1000, 16, 42, 300).centroids());
    }

    @Property(tries = 200)
    void nearestIsTheArgminWithTiesDown(@ForAll long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] c = new float[1 << (1 + random.nextInt(4))];
        for (int i = 0; i < c.length; i++) {
            c[i] = random.nextInt(9) - 4; // integers: duplicates and exact midpoints happen
        }
        Arrays.sort(c);
        for (int t = 0; t < 50; t++) {
            float v = (random.nextInt(21) - 10) * 0.5f;
            int best = 0;
            for (int i = 1; i < c.length; i++) {
                if (Math.abs(v - c[i]) < Math.abs(v - c[best])) {
                    best = i;
                }
            }
            assertThat(KMeans1D.nearest(c, v)).as("%s in %s", v, Arrays.toString(c)).isEqualTo(best);
        }
    }
}
