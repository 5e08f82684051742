package org.quant4j.ptq.claq;

import org.quant4j.ptq.gptq.Gptq;

import org.quant4j.core.InvalidSpecException;

/**
 * Options of {@link Claq}, with the defaults of the authors' code (fayuge/CLAQ, {@code claq.py}):
 * <ul>
 *   <li><b>Code widths</b> (Adaptive Precision): {@code highFraction} of the columns, those ranked
 *       first by outlier count, get {@code highBits}, the others {@code lowBits}. {@link #adaptive(double)}
 *       maps a target average as the reference does: below 3 bits, 2- and 4-bit columns
 *       ({@code fraction = (target − 2)/2}, so 2.1 → 5% and 2.5 → 25% of the columns at 4 bits); from 3
 *       to 4 bits, 3- and 4-bit columns ({@code fraction = target − 3}, so 3.1 → 10%).</li>
 *   <li><b>Outlier Order</b>: a weight is an outlier when {@code |w| >= outlierThreshold · mean|W|}
 *       over the whole layer (reference {@code t = 13}); columns are ranked by their outlier count.</li>
 *   <li><b>Outlier Reservation</b> (the reference's {@code --outlier_col_dynamic}): in every column
 *       the {@code round(ratio · rows)} largest and as many smallest weights keep their value (FP16); the
 *       ratio is {@code reserveHighRatio} (0.014) for the {@code reserveTopColumns} (10%) columns ranked
 *       first and {@code reserveLowRatio} (0.004) for the others. Off unless asked for.</li>
 *   <li>K-means: {@code kmeansIterations} Lloyd iterations at most (scikit-learn's 300), seed 10 (the
 *       reference's {@code random_state}), mixed with the column index.</li>
 *   <li>The GPTQ sweep: block 128, 1% dampening (escalated as in {@link Gptq}), act-order on (the
 *       reference's published commands use {@code --act-order}).</li>
 * </ul>
 * Immutable; built with {@link #builder()}.
 */
public final class ClaqParams {
    private final int lowBits;
    private final int highBits;
    private final double highFraction;
    private final double outlierThreshold;
    private final boolean reserveOutliers;
    private final double reserveTopColumns;
    private final double reserveHighRatio;
    private final double reserveLowRatio;
    private final int kmeansIterations;
    private final long seed;
    private final int blockSize;
    private final double percDamp;
    private final double maxPercDamp;
    private final boolean actOrder;

    private ClaqParams(Builder b) {
        this.lowBits = b.lowBits;
        this.highBits = b.highBits;
        this.highFraction = b.highFraction;
        this.outlierThreshold = b.outlierThreshold;
        this.reserveOutliers = b.reserveOutliers;
        this.reserveTopColumns = b.reserveTopColumns;
        this.reserveHighRatio = b.reserveHighRatio;
        this.reserveLowRatio = b.reserveLowRatio;
        this.kmeansIterations = b.kmeansIterations;
        this.seed = b.seed;
        this.blockSize = b.blockSize;
        this.percDamp = b.percDamp;
        this.maxPercDamp = b.maxPercDamp;
        this.actOrder = b.actOrder;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Every column at {@code bits} (the reference's single-precision mode). */
    public static ClaqParams fixed(int bits) {
        return builder().bits(bits).build();
    }

    /** Adaptive Precision to an average code width of {@code targetBits} (2..4), the reference's mapping. */
    public static ClaqParams adaptive(double targetBits) {
        return builder().adaptivePrecision(targetBits).build();
    }

    public int lowBits() { return lowBits; }
    public int highBits() { return highBits; }
    /** Fraction of the columns (ranked first by outlier count) coded with {@link #highBits()}. */
    public double highFraction() { return highFraction; }
    public double outlierThreshold() { return outlierThreshold; }
    public boolean reserveOutliers() { return reserveOutliers; }
    public double reserveTopColumns() { return reserveTopColumns; }
    public double reserveHighRatio() { return reserveHighRatio; }
    public double reserveLowRatio() { return reserveLowRatio; }
    public int kmeansIterations() { return kmeansIterations; }
    public long seed() { return seed; }
    public int blockSize() { return blockSize; }
    public double percDamp() { return percDamp; }
    public double maxPercDamp() { return maxPercDamp; }
    public boolean actOrder() { return actOrder; }

    /** Builder; defaults: 2-bit columns, no adaptive precision, no outlier reservation. */
    public static final class Builder {
        private int lowBits = 2;
        private int highBits = 2;
        private double highFraction;
        private double outlierThreshold = 13;
        private boolean reserveOutliers;
        private double reserveTopColumns = 0.1;
        private double reserveHighRatio = 0.014;
        private double reserveLowRatio = 0.004;
        private int kmeansIterations = 300;
        private long seed = 10;
        private int blockSize = Gptq.DEFAULT_BLOCK_SIZE;
        private double percDamp = Gptq.DEFAULT_PERC_DAMP;
        private double maxPercDamp = Gptq.DEFAULT_MAX_PERC_DAMP;
        private boolean actOrder = true;

        /** Every column at {@code bits} (1..8). */
        public Builder bits(int bits) {
            return mixedPrecision(bits, bits, 0);
        }

        /** {@code highFraction} of the columns (ranked by outlier count) at {@code highBits}, the rest at {@code lowBits}. */
        public Builder mixedPrecision(int lowBits, int highBits, double highFraction) {
            if (lowBits < 1 || highBits > 8 || lowBits > highBits) {
                throw new InvalidSpecException("CLAQ code widths must satisfy 1 <= low <= high <= 8, got low=" + lowBits
                        + ", high=" + highBits);
            }
            if (!(highFraction >= 0 && highFraction <= 1)) {
                throw new InvalidSpecException("CLAQ high-precision column fraction must be in [0, 1], got " + highFraction);
            }
            this.lowBits = lowBits;
            this.highBits = highBits;
            this.highFraction = highFraction;
            return this;
        }

        /** The reference's Adaptive Precision mapping of an average width in [2, 4] (see the class comment). */
        public Builder adaptivePrecision(double targetBits) {
            if (!(targetBits >= 2 && targetBits <= 4)) {
                throw new InvalidSpecException("CLAQ adaptive precision targets 2..4 average bits, got " + targetBits);
            }
            return targetBits < 3 ? mixedPrecision(2, 4, (targetBits - 2) / 2) : mixedPrecision(3, 4, targetBits - 3);
        }

        /** The outlier criterion {@code |w| >= threshold · mean|W|} (default 13). */
        public Builder outlierThreshold(double threshold) {
            if (!(threshold > 0) || Double.isInfinite(threshold)) {
                throw new InvalidSpecException("CLAQ outlier threshold must be finite and > 0, got " + threshold);
            }
            this.outlierThreshold = threshold;
            return this;
        }

        /** Outlier Reservation with the reference's ratios (10% of the columns at 0.014 per tail, the rest at 0.004). */
        public Builder reserveOutliers(boolean reserve) {
            this.reserveOutliers = reserve;
            return this;
        }

        /** Outlier Reservation with explicit ratios per tail, each in [0, 0.25]. */
        public Builder reserveOutliers(double topColumns, double highRatio, double lowRatio) {
            if (!(topColumns >= 0 && topColumns <= 1) || !(highRatio >= 0 && highRatio <= 0.25)
                    || !(lowRatio >= 0 && lowRatio <= 0.25)) {
                throw new InvalidSpecException("CLAQ outlier reservation needs a column fraction in [0, 1] and ratios in"
                        + " [0, 0.25]; got " + topColumns + ", " + highRatio + ", " + lowRatio);
            }
            this.reserveOutliers = true;
            this.reserveTopColumns = topColumns;
            this.reserveHighRatio = highRatio;
            this.reserveLowRatio = lowRatio;
            return this;
        }

        public Builder kmeansIterations(int iterations) {
            if (iterations < 1) {
                throw new InvalidSpecException("CLAQ k-means needs at least one iteration, got " + iterations);
            }
            this.kmeansIterations = iterations;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder blockSize(int blockSize) {
            if (blockSize < 1) {
                throw new InvalidSpecException("CLAQ block size must be >= 1, got " + blockSize);
            }
            this.blockSize = blockSize;
            return this;
        }

        public Builder percDamp(double percDamp, double maxPercDamp) {
            if (!(percDamp >= 0) || !(maxPercDamp >= percDamp) || Double.isInfinite(maxPercDamp)) {
                throw new InvalidSpecException("CLAQ dampening needs 0 <= percDamp <= maxPercDamp < inf, got "
                        + percDamp + ", " + maxPercDamp);
            }
            this.percDamp = percDamp;
            this.maxPercDamp = maxPercDamp;
            return this;
        }

        public Builder actOrder(boolean actOrder) {
            this.actOrder = actOrder;
            return this;
        }

        public ClaqParams build() {
            return new ClaqParams(this);
        }
    }

    @Override
    public String toString() {
        return "claq(bits=" + (lowBits == highBits || highFraction == 0 ? String.valueOf(lowBits)
                : lowBits + "/" + highBits + "@" + highFraction) + (reserveOutliers ? ", reserve=" + reserveTopColumns
                + ":" + reserveHighRatio + "/" + reserveLowRatio : "") + ", threshold=" + outlierThreshold
                + ", actOrder=" + actOrder + ")";
    }
}
