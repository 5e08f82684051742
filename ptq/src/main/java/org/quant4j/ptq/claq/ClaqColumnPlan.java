package org.quant4j.ptq.claq;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * What CLAQ does with each column before the sweep (Wang et al. 2024): the Outlier Order ranking (the
 * number of weights with {@code |w| >= threshold · mean|W|}, mean over the whole layer), the code
 * width it gives (Adaptive Precision) and how many weights per tail the column keeps in full
 * precision (Outlier Reservation); the reference computes the
 * same in {@code CLAQ.fasterquant} (fayuge/CLAQ {@code claq.py}).
 *
 * <p>Ties in the outlier count (many columns have none) are broken by the column's largest {@code |w|},
 * then by column index, so the plan is deterministic; the reference leaves ties to the sort.
 *
 * @param bits            code width per original column
 * @param reservedPerTail weights kept per tail (largest and smallest) per original column
 * @param outlierCounts   the Outlier Order statistic per original column
 * @param rank            columns from most to least outlier-prone
 */
record ClaqColumnPlan(byte[] bits, int[] reservedPerTail, int[] outlierCounts, int[] rank) {

    /** The plan for the row-major {@code rows × n} weight {@code w}. */
    static ClaqColumnPlan of(float[] w, int rows, int n, ClaqParams p) {
        double absSum = 0;
        float[] maxAbs = new float[n];
        for (int r = 0; r < rows; r++) {
            for (int c = 0, i = r * n; c < n; c++, i++) {
                float a = Math.abs(w[i]);
                absSum += a;
                maxAbs[c] = Math.max(maxAbs[c], a);
            }
        }
        double threshold = p.outlierThreshold() * absSum / ((double) rows * n);
        int[] counts = new int[n];
        for (int r = 0; r < rows; r++) {
            for (int c = 0, i = r * n; c < n; c++, i++) {
                if (Math.abs(w[i]) >= threshold) {
                    counts[c]++;
                }
            }
        }
        int[] rank = IntStream.range(0, n).boxed()
                .sorted(Comparator.comparingInt((Integer c) -> -counts[c])
                        .thenComparingDouble(c -> -maxAbs[c]).thenComparingInt(c -> c))
                .mapToInt(Integer::intValue).toArray();
        byte[] bits = new byte[n];
        int[] reserved = new int[n];
        int high = (int) Math.round(p.highFraction() * n);
        int topReserve = (int) Math.round(p.reserveTopColumns() * n);
        int maxPerTail = (rows - 1) / 2;
        for (int k = 0; k < n; k++) {
            int c = rank[k];
            bits[c] = (byte) (k < high ? p.highBits() : p.lowBits());
            if (p.reserveOutliers()) {
                double ratio = k < topReserve ? p.reserveHighRatio() : p.reserveLowRatio();
                reserved[c] = Math.min(maxPerTail, (int) Math.round(ratio * rows));
            }
        }
        return new ClaqColumnPlan(bits, reserved, counts, rank);
    }
}
