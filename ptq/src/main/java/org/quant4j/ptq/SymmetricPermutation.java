package org.quant4j.ptq;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * Reorderings of a row-major {@code n×n} float matrix held in native memory, with {@code O(n)}
 * scratch: the symmetric permutation {@code B[i][j] = A[σ(i)][σ(j)]} (in place, or fused with a copy)
 * and the in-place reversal of both indices (the "exchange" {@code J·A·J}).
 */
public final class SymmetricPermutation {
    private static final int REVERSE_CHUNK = 1 << 16;

    private SymmetricPermutation() {}

    /** {@code A ← A[σ][σ]}: rows by following the permutation's cycles, then each row's columns (in parallel). */
    public static void apply(FloatBuffer a, int n, int[] sigma) {
        permuteRows(a, n, sigma);
        IntStream.range(0, parallelSlices(n)).parallel().forEach(s -> {
            float[] row = new float[n];
            float[] permuted = new float[n];
            for (int i = sliceStart(n, s); i < sliceStart(n, s + 1); i++) {
                a.get(i * n, row, 0, n);
                for (int j = 0; j < n; j++) {
                    permuted[j] = row[sigma[j]];
                }
                a.put(i * n, permuted, 0, n);
            }
        });
    }

    /** {@code B ← A[σ][σ]} for distinct {@code a} and {@code b}: one pass, in parallel over rows of B. */
    public static void copy(FloatBuffer a, FloatBuffer b, int n, int[] sigma) {
        IntStream.range(0, parallelSlices(n)).parallel().forEach(s -> {
            float[] row = new float[n];
            float[] permuted = new float[n];
            for (int i = sliceStart(n, s); i < sliceStart(n, s + 1); i++) {
                a.get(sigma[i] * n, row, 0, n);
                for (int j = 0; j < n; j++) {
                    permuted[j] = row[sigma[j]];
                }
                b.put(i * n, permuted, 0, n);
            }
        });
    }

    /** {@code row i ← row σ(i)} for all i, moving each row once per cycle of σ. */
    static void permuteRows(FloatBuffer a, int n, int[] sigma) {
        boolean[] done = new boolean[n];
        float[] saved = new float[n];
        float[] moving = new float[n];
        for (int start = 0; start < n; start++) {
            if (done[start] || sigma[start] == start) {
                done[start] = true;
                continue;
            }
            a.get(start * n, saved, 0, n);
            int i = start;
            while (sigma[i] != start) {
                a.get(sigma[i] * n, moving, 0, n);
                a.put(i * n, moving, 0, n);
                done[i] = true;
                i = sigma[i];
            }
            a.put(i * n, saved, 0, n);
            done[i] = true;
        }
    }

    /** {@code A[i][j] ← A[n-1-i][n-1-j]}: the flat array of {@code n²} values reversed. */
    public static void reverseBoth(FloatBuffer a, int n) {
        long total = (long) n * n;
        long half = total / 2;
        int chunks = (int) ((half + REVERSE_CHUNK - 1) / REVERSE_CHUNK);
        int len0 = (int) Math.min(REVERSE_CHUNK, Math.max(half, 1));
        IntStream.range(0, parallelSlices(chunks)).parallel().forEach(s -> {
            float[] front = new float[len0];
            float[] back = new float[len0];
            for (int c = sliceStart(chunks, s); c < sliceStart(chunks, s + 1); c++) {
                long from = (long) c * REVERSE_CHUNK;
                int len = (int) Math.min(REVERSE_CHUNK, half - from);
                int backStart = (int) (total - from - len);
                a.get((int) from, front, 0, len);
                a.get(backStart, back, 0, len);
                reverse(front, len);
                reverse(back, len);
                a.put((int) from, back, 0, len);
                a.put(backStart, front, 0, len);
            }
        });
    }

    /** {@code A[i][j] ← A[j][i]} for {@code j < i}: the lower triangle rebuilt from the upper one. */
    public static void mirrorUpperToLower(FloatBuffer a, int n) {
        float[] row = new float[n];
        for (int i = 1; i < n; i++) {
            for (int j = 0; j < i; j++) {
                row[j] = a.get(j * n + i);
            }
            a.put(i * n, row, 0, i);
        }
    }

    public static int parallelSlices(int n) {
        return Math.max(1, Math.min(n, 4 * Runtime.getRuntime().availableProcessors()));
    }

    public static int sliceStart(int n, int slice) {
        return (int) ((long) n * slice / parallelSlices(n));
    }

    private static void reverse(float[] v, int len) {
        for (int i = 0, j = len - 1; i < j; i++, j--) {
            float t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
    }
}
