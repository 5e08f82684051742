package org.quant4j.model.data;

import java.util.Random;

/** Seeded random permutations (Fisher–Yates / Knuth shuffle, TAOCP vol. 2, 3.4.2 Algorithm P). */
final class Permutation {
    private Permutation() {}

    /** A permutation of {@code 0..n-1} drawn from {@code new Random(seed)}: the same on every JVM. */
    static int[] of(int n, long seed) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random random = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
