package org.quant4j.ptq.hqq;

/**
 * What {@link HqqOptimizer} produced: the final codes {@code W_q} (unpacked, one per byte, row-major),
 * the stored scale and zero point of every block, and the error {@code mean|W − W_r|} of each
 * evaluated iterate. The returned iterate is {@link #bestIteration()}; its error is {@link #error()}.
 * Arrays are shared, not copied.
 */
public final class HqqResult {
    private final byte[] codes;
    private final float[] scales;
    private final float[] zeros;
    private final int blockLength;
    private final double[] errors;
    private final int bestIteration;

    HqqResult(byte[] codes, float[] scales, float[] zeros, int blockLength, double[] errors, int bestIteration) {
        this.codes = codes;
        this.scales = scales;
        this.zeros = zeros;
        this.blockLength = blockLength;
        this.errors = errors;
        this.bestIteration = bestIteration;
    }

    /** {@code W_q}: one code per element, {@code 0 .. 2^b−1}. */
    public byte[] codes() { return codes; }

    /** Per block, the scale s as stored. */
    public float[] scales() { return scales; }

    /** Per block, the zero point z in code space as stored. */
    public float[] zeros() { return zeros; }

    public int blockLength() { return blockLength; }

    /**
     * {@code mean|W − W_r|} of iterates 0, 1, ... as evaluated (iterate 0 is the min-max start); without
     * {@link HqqParams#keepBest()} the last entry is the returned update, measured after the loop.
     */
    public double[] errorHistory() { return errors.clone(); }

    /** Index of the returned iterate in {@link #errorHistory()}. */
    public int bestIteration() { return bestIteration; }

    /** Entries of {@link #errorHistory()}. */
    public int iterations() { return errors.length; }

    /** {@code mean|W − W_r|} of the returned (stored) result. */
    public double error() { return errors[bestIteration]; }
}
