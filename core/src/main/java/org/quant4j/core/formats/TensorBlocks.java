package org.quant4j.core.formats;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import org.quant4j.core.Granularity;

/**
 * The scale blocks of a row-major {@code rows × cols} tensor, and parallel walks over them. Every
 * granularity gives contiguous blocks of one length (the whole tensor; one row; {@code g}
 * consecutive columns of one row), so block {@code b} is {@code [b·length, (b+1)·length)}.
 */
final class TensorBlocks {
    /**
     * Elements per chunk of {@link #forEachChunk}: a multiple of 8 and of 5, so a chunk starts on a
     * byte boundary of any bit-packed stream and of a five-per-byte ternary stream.
     */
    static final int CHUNK = 40 * 1024;

    private final int size;
    private final long cols;
    private final int length;
    private final int count;

    private TensorBlocks(int size, long cols, int length) {
        this.size = size;
        this.cols = cols;
        this.length = length;
        this.count = size / length;
    }

    /** The blocks of a tensor of {@code size} elements and this shape (a 1-D tensor is one row). */
    static TensorBlocks of(long[] shape, Granularity granularity, int size) {
        long rows = shape.length <= 1 ? 1 : shape[0];
        long cols = size / rows;
        return new TensorBlocks(size, cols, Math.toIntExact(granularity.blockLength(rows, cols)));
    }

    int size() { return size; }

    /** Elements per block. */
    int length() { return length; }

    /** Number of blocks. */
    int count() { return count; }

    /** Number of chunks {@link #forEachChunk} visits. */
    int chunkCount() {
        return (size + CHUNK - 1) / CHUNK;
    }

    /** Where block {@code b} lies, for error messages. */
    String describe(int b) {
        if (count == 1) {
            return "the whole tensor";
        }
        long start = (long) b * length;
        long row = start / cols;
        long col = start - row * cols;
        return length == cols ? "row " + row : "row " + row + ", columns " + col + ".." + (col + length - 1);
    }

    /** Per-thread buffers of {@link #CHUNK} elements, reused from chunk to chunk. */
    static final class Scratch {
        final byte[] codes;
        final float[] values;

        Scratch(int length) {
            codes = new byte[length];
            values = new float[length];
        }
    }

    interface ChunkBody {
        /** Handles elements {@code [from, to)}, chunk number {@code chunk}, with scratch buffers of at least {@code to - from}. */
        void run(int chunk, int from, int to, Scratch scratch);
    }

    interface SegmentBody {
        /** Handles elements {@code [from, to)}, all in block {@code block}. */
        void run(int block, int from, int to);
    }

    /**
     * Runs {@code body} over consecutive chunks of {@link #CHUNK} elements (the last may be shorter)
     * covering the tensor; in parallel on the common pool when there are several chunks. Each thread
     * reuses one {@link Scratch} for its run of chunks.
     */
    void forEachChunk(ChunkBody body) {
        int chunks = chunkCount();
        if (chunks <= 1) {
            body.run(0, 0, size, new Scratch(Math.min(size, CHUNK)));
            return;
        }
        int slices = Math.min(chunks, 4 * (ForkJoinPool.getCommonPoolParallelism() + 1)); // + the calling thread
        IntStream.range(0, slices).parallel().forEach(s -> {
            Scratch scratch = new Scratch(CHUNK);
            int first = (int) ((long) chunks * s / slices);
            int last = (int) ((long) chunks * (s + 1) / slices);
            for (int c = first; c < last; c++) {
                int from = c * CHUNK;
                body.run(c, from, Math.min(size, from + CHUNK), scratch);
            }
        });
    }

    /** Runs {@code body} for every block index; in parallel when the tensor spans several chunks. */
    void forEachBlock(IntConsumer body) {
        IntStream blocks = IntStream.range(0, count);
        (chunkCount() > 1 ? blocks.parallel() : blocks).forEach(body);
    }

    /** Splits {@code [from, to)} at block boundaries and runs {@code body} on each piece, in order. */
    void forEachSegment(int from, int to, SegmentBody body) {
        int i = from;
        while (i < to) {
            int block = i / length;
            int end = (int) Math.min(to, (long) (block + 1) * length);
            body.run(block, i, end);
            i = end;
        }
    }
}
