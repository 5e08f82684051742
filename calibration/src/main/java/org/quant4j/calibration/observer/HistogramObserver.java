package org.quant4j.calibration.observer;

/**
 * An observer whose range is a statistic of the {@link Histogram} of everything it observed (until frozen),
 * recomputed lazily after new observations. The range never leaves the observed {@code [min, max]}.
 */
public abstract class HistogramObserver extends RangeObserver {
    /** PyTorch's {@code HistogramObserver} and TensorRT's {@code HistogramCalibrator} default to 2048 bins. */
    public static final int DEFAULT_BINS = 2048;

    private final Histogram histogram;
    private float observedMin;
    private float observedMax;
    private boolean stale;
    private float rangeMin;
    private float rangeMax;

    /** @param bins the histogram keeps at most this many bins (memory bound), at least 8 */
    protected HistogramObserver(int bins, int freezeAfter) {
        super(freezeAfter);
        this.histogram = new Histogram(bins);
    }

    @Override
    protected final void update(float[] data, int from, int to, float batchMin, float batchMax) {
        histogram.add(data, from, to, batchMin, batchMax);
        observedMin = hasRange() ? Math.min(observedMin, batchMin) : batchMin;
        observedMax = hasRange() ? Math.max(observedMax, batchMax) : batchMax;
        stale = true;
    }

    @Override
    protected final float rangeMin() {
        refresh();
        return rangeMin;
    }

    @Override
    protected final float rangeMax() {
        refresh();
        return rangeMax;
    }

    /** The smallest value observed. */
    public final float observedMin() {
        return observedMin;
    }

    /** The largest value observed. */
    public final float observedMax() {
        return observedMax;
    }

    /** The width of the histogram's bins now (a power of two). */
    public final double binWidth() {
        return histogram.width();
    }

    private void refresh() {
        if (stale) {
            double[] r = computeRange(histogram);
            rangeMin = (float) Math.max(observedMin, Math.min(r[0], observedMax));
            rangeMax = (float) Math.min(observedMax, Math.max(r[1], rangeMin));
            stale = false;
        }
    }

    /** {@code {min, max}} from the histogram (non-empty); clipped to the observed extremes by the caller. */
    protected abstract double[] computeRange(Histogram histogram);
}
