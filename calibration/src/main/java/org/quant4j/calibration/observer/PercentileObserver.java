package org.quant4j.calibration.observer;

/**
 * Percentile calibration: the range clips the {@code (100 - p)}% most extreme values of each tail, read from
 * a streaming histogram (TensorRT pytorch-quantization {@code calib.HistogramCalibrator} with
 * {@code compute_amax(method="percentile", percentile=99.99)}, {@code _compute_amax_percentile}: the bin
 * where the cumulative distribution reaches {@code p/100}). TensorRT takes the percentile of {@code |x|} and
 * the lower edge of that bin; here both tails are kept (max: the {@code p}-quantile, min: the
 * {@code (100-p)}-quantile, so ReLU outputs keep min 0 and signed data an asymmetric range) and the edge on
 * the outer side of the bin is taken, so at least {@code p}% of the values lie inside each bound. Either
 * bound is within one bin width of the exact (nearest-rank) quantile and inside the observed extremes.
 */
public final class PercentileObserver extends HistogramObserver {
    /** TensorRT's default percentile. */
    public static final double DEFAULT_PERCENTILE = 99.99;

    private final double percentile;

    /**
     * @param percentile  in (50, 100]; 100 gives the observed min-max range (up to the bin width)
     * @param bins        histogram bins kept at most
     * @param freezeAfter observations after which the range stops changing; negative: never
     */
    public PercentileObserver(double percentile, int bins, int freezeAfter) {
        super(bins, freezeAfter);
        if (!(percentile > 50 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
        }
        this.percentile = percentile;
    }

    public double percentile() {
        return percentile;
    }

    @Override
    protected double[] computeRange(Histogram h) {
        long n = h.total();
        long upperRank = Math.max(1, (long) Math.ceil(percentile / 100 * n));
        long lowerRank = Math.max(1, n - upperRank + 1);
        return new double[] {h.lowerEdge(h.binOfRank(lowerRank)), h.upperEdge(h.binOfRank(upperRank))};
    }
}
