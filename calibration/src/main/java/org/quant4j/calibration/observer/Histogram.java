package org.quant4j.calibration.observer;

/**
 * A streaming histogram of float values with bounded memory: bins of width {@code w = 2^e} anchored at 0
 * (bin {@code j} holds {@code [j·w, (j+1)·w)}), at most {@code maxBins} of them. When the observed range
 * would need more bins, adjacent pairs merge and the width doubles: the edges stay aligned, so merging is
 * exact (no re-binning by interpolation as in PyTorch's {@code HistogramObserver._combine_histograms}), and
 * the range always spans more than {@code maxBins/2} bins after the first batch. This plays the part of the
 * growing fixed-width histogram of TensorRT's pytorch-quantization {@code calib.HistogramCalibrator.collect}
 * (default 2048 bins), with signed values instead of {@code |x|} so asymmetric ranges keep their two tails.
 */
final class Histogram implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final int maxBins;
    private int exponent;
    private long first;
    private long[] counts;
    private long total;

    /** @param maxBins at most this many bins (at least 8) */
    Histogram(int maxBins) {
        if (maxBins < 8) {
            throw new IllegalArgumentException("a histogram needs at least 8 bins, got " + maxBins);
        }
        this.maxBins = maxBins;
    }

    /** Adds the finite values {@code data[from .. to)} whose extremes are {@code min} and {@code max}. */
    void add(float[] data, int from, int to, float min, float max) {
        if (counts == null) {
            double span = (double) max - min;
            exponent = span > 0 ? Math.getExponent(span / maxBins) : Math.getExponent(Math.max(Math.abs(max), Float.MIN_NORMAL)) - 8;
            while (index(max) - index(min) + 1 > maxBins) {
                exponent++;
            }
            first = index(min);
            counts = new long[(int) (index(max) - first + 1)];
        } else {
            cover(min, max);
        }
        double inverseWidth = Math.scalb(1.0, -exponent);
        long[] c = counts;
        long f = first;
        for (int i = from; i < to; i++) {
            c[(int) ((long) Math.floor(data[i] * inverseWidth) - f)]++;
        }
        total += to - from;
    }

    /** Grows (and coarsens, if needed) the bins so that the values {@code min .. max} have bins. */
    private void cover(float min, float max) {
        while (true) { // in double: far-away values may not index in a long before coarsening
            double lo = Math.min(first, Math.floor(Math.scalb((double) min, -exponent)));
            double hi = Math.max(first + counts.length - 1, Math.floor(Math.scalb((double) max, -exponent)));
            if (hi - lo + 1 <= maxBins) {
                break;
            }
            merge();
        }
        long newFirst = Math.min(first, index(min));
        long newLast = Math.max(first + counts.length - 1, index(max));
        if (newFirst != first || newLast != first + counts.length - 1) {
            long[] grown = new long[(int) (newLast - newFirst + 1)];
            System.arraycopy(counts, 0, grown, (int) (first - newFirst), counts.length);
            counts = grown;
            first = newFirst;
        }
    }

    /** Doubles the width: bin {@code j} goes to {@code floor(j/2)}, exactly. */
    private void merge() {
        long newFirst = Math.floorDiv(first, 2);
        long newLast = Math.floorDiv(first + counts.length - 1, 2);
        long[] merged = new long[(int) (newLast - newFirst + 1)];
        for (int k = 0; k < counts.length; k++) {
            merged[(int) (Math.floorDiv(first + k, 2) - newFirst)] += counts[k];
        }
        counts = merged;
        first = newFirst;
        exponent++;
    }

    private long index(float x) {
        return (long) Math.floor(Math.scalb((double) x, -exponent));
    }

    boolean isEmpty() {
        return total == 0;
    }

    long total() {
        return total;
    }

    int bins() {
        return counts == null ? 0 : counts.length;
    }

    long count(int bin) {
        return counts[bin];
    }

    /** The bin width. */
    double width() {
        return Math.scalb(1.0, exponent);
    }

    /** Lower edge of bin {@code bin} (0-based among {@link #bins()}). */
    double lowerEdge(int bin) {
        return Math.scalb((double) (first + bin), exponent);
    }

    /** Upper edge of bin {@code bin}. */
    double upperEdge(int bin) {
        return Math.scalb((double) (first + bin + 1), exponent);
    }

    /** Centre of bin {@code bin}. */
    double center(int bin) {
        return Math.scalb(first + bin + 0.5, exponent);
    }

    /**
     * The bin holding the {@code k}-th smallest value ({@code 1 <= k <= total}): the first bin whose cumulative
     * count reaches {@code k}.
     */
    int binOfRank(long k) {
        long cumulative = 0;
        for (int b = 0; b < counts.length; b++) {
            cumulative += counts[b];
            if (cumulative >= k) {
                return b;
            }
        }
        return counts.length - 1;
    }
}
