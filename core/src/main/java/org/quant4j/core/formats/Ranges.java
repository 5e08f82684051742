package org.quant4j.core.formats;

import java.util.stream.IntStream;

/** Splits a loop over {@code count} units into contiguous ranges, run in parallel for large tensors. */
final class Ranges {
    /** Below this many elements a tensor is processed on the calling thread. */
    static final int PARALLEL_MIN_ELEMENTS = 1 << 17;

    private static final int TASKS = 4 * Runtime.getRuntime().availableProcessors();

    private Ranges() {}

    /** Work on units {@code [from, to)}. */
    interface Task {
        void run(int from, int to);
    }

    /**
     * Runs {@code task} over {@code [0, count)}: on this thread when {@code elements} is small, else as
     * up to {@code 4 × cores} disjoint ranges on the common fork-join pool.
     */
    static void run(int count, long elements, Task task) {
        if (elements < PARALLEL_MIN_ELEMENTS || count < 2) {
            task.run(0, count);
            return;
        }
        int parts = Math.min(count, TASKS);
        IntStream.range(0, parts).parallel().forEach(p -> task.run(
                (int) ((long) count * p / parts), (int) ((long) count * (p + 1) / parts)));
    }
}
