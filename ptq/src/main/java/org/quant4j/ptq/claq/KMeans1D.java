package org.quant4j.ptq.claq;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * K-means on scalars: the per-column codebook of CLAQ (Wang et al. 2024, "K-Means based quantization":
 * {@code KMeans(W_j)} gives {@code 2^b} centroids, each weight maps to its nearest centroid). The reference fits scikit-learn's
 * {@code KMeans(n_clusters=2^b, random_state=10)}: greedy k-means++ seeding (Arthur &amp; Vassilvitskii
 * 2007, with scikit-learn's {@code 2 + ⌊ln k⌋} local trials per centre) followed by Lloyd iterations.
 * This is the same algorithm specialised to one dimension, where it is exact and cheap: on sorted
 * values a cluster is a contiguous run bounded by the midpoints of neighbouring centroids (found by
 * binary search), and a centroid update is a difference of prefix sums. Lloyd iterations run until the
 * assignment no longer changes (a fixed point) or {@code maxIterations}.
 *
 * <p>The objective {@code Σ (x − c(x))²} is recorded after every centroid update; Lloyd's algorithm never
 * increases it. Same input and seed, same centroids. A point exactly between two centroids belongs to
 * the lower one. An empty cluster keeps its centroid.
 */
public final class KMeans1D {
    private KMeans1D() {}

    /**
     * @param centroids  {@code k} centroids in ascending order (repeated values when the data has fewer than
     *                   {@code k} distinct values)
     * @param iterations Lloyd iterations run
     * @param objective  the objective after each iteration (first entry: after the first update)
     */
    public record Result(float[] centroids, int iterations, double[] objective) {}

    /**
     * Clusters {@code sorted[from .. to)}, which must be in ascending order and finite.
     *
     * @param k             number of centroids, at least 1
     * @param seed          seed of the k-means++ draws
     * @param maxIterations bound on Lloyd iterations, at least 1
     */
    public static Result fitSorted(float[] sorted, int from, int to, int k, long seed, int maxIterations) {
        int n = to - from;
        if (n < 1 || k < 1 || maxIterations < 1) {
            throw new IllegalArgumentException("k-means needs values, k >= 1 and maxIterations >= 1; got " + n
                    + " values, k=" + k + ", maxIterations=" + maxIterations);
        }
        float[] distinct = distinctValues(sorted, from, to, k);
        if (distinct != null) {
            return new Result(padded(distinct, k), 0, new double[] {0});
        }
        double[] s1 = new double[n + 1];
        double[] s2 = new double[n + 1];
        for (int i = 0; i < n; i++) {
            double v = sorted[from + i];
            s1[i + 1] = s1[i] + v;
            s2[i + 1] = s2[i] + v * v;
        }
        double[] c = plusPlusSeeds(sorted, from, n, k, new SplittableRandom(seed));
        Arrays.sort(c);
        int[] ends = new int[k];
        int[] previous = new int[k];
        Arrays.fill(previous, -1);
        double[] trace = new double[maxIterations];
        int it = 0;
        while (it < maxIterations) {
            clusterEnds(sorted, from, n, c, ends);
            if (Arrays.equals(ends, previous)) {
                break;
            }
            trace[it++] = update(c, ends, s1, s2);
            System.arraycopy(ends, 0, previous, 0, k);
            Arrays.sort(c);
        }
        float[] centroids = new float[k];
        for (int i = 0; i < k; i++) {
            centroids[i] = (float) c[i];
        }
        Arrays.sort(centroids);
        return new Result(centroids, it, Arrays.copyOf(trace, Math.max(it, 1)));
    }

    /** The index of the centroid nearest to {@code x} in ascending {@code centroids}; ties go to the lower index. */
    public static int nearest(float[] centroids, float x) {
        int lo = 0;
        int hi = centroids.length;
        while (lo < hi) { // first centroid >= x, or length
            int mid = (lo + hi) >>> 1;
            if (centroids[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        int best = lo == centroids.length || (lo > 0 && x - centroids[lo - 1] <= centroids[lo] - x) ? lo - 1 : lo;
        while (best > 0 && centroids[best - 1] == centroids[best]) {
            best--;
        }
        return best;
    }

    /** The distinct values when there are at most {@code k} of them, else null. */
    private static float[] distinctValues(float[] sorted, int from, int to, int k) {
        float[] distinct = new float[k];
        int count = 0;
        for (int i = from; i < to; i++) {
            if (count == 0 || sorted[i] != distinct[count - 1]) {
                if (count == k) {
                    return null;
                }
                distinct[count++] = sorted[i];
            }
        }
        return Arrays.copyOf(distinct, count);
    }

    private static float[] padded(float[] values, int k) {
        float[] out = Arrays.copyOf(values, k);
        Arrays.fill(out, values.length, k, values[values.length - 1]);
        return out;
    }

    /**
     * Greedy k-means++: the first centre uniformly, each next one the best (lowest potential) of
     * {@code 2 + ⌊ln k⌋} candidates drawn with probability proportional to the squared distance to the
     * nearest centre chosen so far.
     */
    private static double[] plusPlusSeeds(float[] x, int from, int n, int k, SplittableRandom random) {
        int trials = 2 + (int) Math.log(k);
        double[] centres = new double[k];
        double[] d2 = new double[n];
        double[] candidateD2 = new double[n];
        double[] bestD2 = new double[n];
        centres[0] = x[from + random.nextInt(n)];
        double potential = 0;
        for (int i = 0; i < n; i++) {
            double d = x[from + i] - centres[0];
            d2[i] = d * d;
            potential += d2[i];
        }
        for (int c = 1; c < k; c++) {
            double bestPotential = Double.POSITIVE_INFINITY;
            double bestCentre = centres[0];
            for (int t = 0; t < trials; t++) {
                double candidate = x[from + draw(d2, potential, random)];
                double p = 0;
                for (int i = 0; i < n; i++) {
                    double d = x[from + i] - candidate;
                    candidateD2[i] = Math.min(d2[i], d * d);
                    p += candidateD2[i];
                }
                if (p < bestPotential) {
                    bestPotential = p;
                    bestCentre = candidate;
                    System.arraycopy(candidateD2, 0, bestD2, 0, n);
                }
            }
            centres[c] = bestCentre;
            System.arraycopy(bestD2, 0, d2, 0, n);
            potential = bestPotential;
        }
        return centres;
    }

    /** An index drawn with probability {@code d2[i] / total} (uniform when the total is 0). */
    private static int draw(double[] d2, double total, SplittableRandom random) {
        if (!(total > 0)) {
            return random.nextInt(d2.length);
        }
        double target = random.nextDouble() * total;
        double cumulative = 0;
        for (int i = 0; i < d2.length; i++) {
            cumulative += d2[i];
            if (cumulative > target && d2[i] > 0) {
                return i;
            }
        }
        for (int i = d2.length - 1; i >= 0; i--) { // rounding left the target at the very end
            if (d2[i] > 0) {
                return i;
            }
        }
        return d2.length - 1;
    }

    /** {@code ends[i]}: one past the last sorted index nearest to centroid {@code i} (ties go down). */
    private static void clusterEnds(float[] x, int from, int n, double[] c, int[] ends) {
        int k = c.length;
        for (int i = 0; i < k - 1; i++) {
            double mid = 0.5 * (c[i] + c[i + 1]);
            int lo = i == 0 ? 0 : ends[i - 1];
            int hi = n;
            while (lo < hi) { // first index with x > mid
                int m = (lo + hi) >>> 1;
                if (x[from + m] <= mid) {
                    lo = m + 1;
                } else {
                    hi = m;
                }
            }
            ends[i] = lo;
        }
        ends[k - 1] = n;
    }

    /** Moves each centroid to its cluster's mean; returns the objective of this assignment with the new centroids. */
    private static double update(double[] c, int[] ends, double[] s1, double[] s2) {
        double objective = 0;
        int start = 0;
        for (int i = 0; i < c.length; i++) {
            int end = ends[i];
            int count = end - start;
            if (count > 0) {
                double sum = s1[end] - s1[start];
                double mean = sum / count;
                c[i] = mean;
                objective += Math.max(0, (s2[end] - s2[start]) - sum * mean);
            }
            start = end;
        }
        return objective;
    }
}
