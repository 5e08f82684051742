package org.quant4j.calibration.observer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.formats.IntGrid;

/** Percentile, MSE and per-channel observers against exact statistics of the data they observed. */
class HistogramObserverTest {

    /** Streaming in several batches whose ranges grow (so bins merge), each bound is within one bin width of the exact quantile. */
    @Property(tries = 60)
    void percentileIsWithinOneBinOfTheExactQuantile(@ForAll @IntRange(min = 0, max = 4) int distribution,
                                                    @ForAll @IntRange(min = 0, max = 3) int percentileKind,
                                                    @ForAll @IntRange(min = 16, max = 512) int bins,
                                                    @ForAll @IntRange(min = 1, max = 100_000) int seed) {
        double p = new double[] {99.99, 99.9, 99.0, 90.0}[percentileKind];
        Random r = new Random(seed);
        PercentileObserver o = new PercentileObserver(p, bins, -1);
        float[] all = new float[0];
        for (int batch = 0; batch < 3; batch++) {
            float[] xs = sample(r, distribution, 500 + r.nextInt(2000), (batch + 1) * (1 + seed % 4));
            o.observe(xs, 0, xs.length);
            all = concat(all, xs);
        }
        float[] sorted = all.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        int upperRank = (int) Math.ceil(p / 100 * n);
        float exactMax = sorted[upperRank - 1];
        float exactMin = sorted[n - upperRank];
        double w = o.binWidth();
        assertThat(w).isLessThanOrEqualTo((sorted[n - 1] - (double) sorted[0]) * 4 / bins + Float.MIN_NORMAL);
        assertThat((double) o.max()).isBetween((double) exactMax, exactMax + w);
        assertThat((double) o.min()).isBetween(exactMin - w, (double) exactMin);
        assertThat(o.min()).isGreaterThanOrEqualTo(sorted[0]);
        assertThat(o.max()).isLessThanOrEqualTo(sorted[n - 1]);
    }

    /**
     * On heavy-tailed data the MSE range quantizes the data with no more error than the min-max range, within 1%: the
     * search minimises the error estimated on the 2048-bin histogram, and at 8 bits a grid step spans only 8 bins
     * (measured: 0.38% worse on one 8-bit asymmetric sample, seed 79 of the Laplace data).
     */
    @Property(tries = 30)
    void mseRangeBeatsMinMaxOnHeavyTails(@ForAll @IntRange(min = 3, max = 8) int bits, @ForAll boolean symmetric,
                                         @ForAll @IntRange(min = 3, max = 4) int distribution,
                                         @ForAll @IntRange(min = 1, max = 100_000) int seed) {
        float[] xs = sample(new Random(seed), distribution, 4000, 1);
        IntGrid grid = IntGrid.of(QuantSpec.integer(bits, symmetric, Granularity.perTensor()));
        double[] errors = mseAndMinMaxErrors(grid, xs);
        assertThat(errors[0]).isLessThanOrEqualTo(errors[1] * 1.01);
    }

    @Example
    void anEightBitSampleWhereTheHistogramEstimateCostsLessThanOnePercent() {
        mseRangeBeatsMinMaxOnHeavyTails(8, false, 4, 79);
    }

    /** Where clipping clearly pays (4-bit grid, Laplace data), the MSE range clips and cuts the error substantially. */
    @Property(tries = 10)
    void mseRangeClipsLaplaceTailsAtFourBits(@ForAll boolean symmetric, @ForAll @IntRange(min = 1, max = 100_000) int seed) {
        float[] xs = sample(new Random(seed), 4, 10_000, 1);
        double[] errors = mseAndMinMaxErrors(IntGrid.of(QuantSpec.integer(4, symmetric, Granularity.perTensor())), xs);
        assertThat(errors[0]).isLessThan(0.8 * errors[1]);
    }

    /** {MSE observer's data error, min-max observer's data error}. */
    private static double[] mseAndMinMaxErrors(IntGrid grid, float[] xs) {
        MseObserver mse = new MseObserver(grid, HistogramObserver.DEFAULT_BINS, -1);
        MinMaxObserver minMax = new MinMaxObserver(-1);
        mse.observe(xs, 0, xs.length);
        minMax.observe(xs, 0, xs.length);
        return new double[] {error(grid, xs, mse.min(), mse.max()), error(grid, xs, minMax.min(), minMax.max())};
    }

    /** Each channel of a per-channel observer has exactly the range of a per-tensor observer shown that channel alone. */
    @Property(tries = 24)
    void perChannelEqualsPerTensorOnEachChannel(@ForAll @IntRange(min = 0, max = 3) int kind,
                                                @ForAll @IntRange(min = 0, max = 1) int axis,
                                                @ForAll @IntRange(min = 1, max = 100_000) int seed) {
        IntGrid grid = IntGrid.of(QuantSpec.integer(8, false, Granularity.perTensor()));
        Supplier<RangeObserver> make = () -> switch (kind) {
            case 0 -> new MinMaxObserver(-1);
            case 1 -> new MovingAverageMinMaxObserver(0.1f, -1);
            case 2 -> new PercentileObserver(99.0, 128, -1);
            default -> new MseObserver(grid, 128, -1);
        };
        Random r = new Random(seed);
        PerChannelObserver perChannel = new PerChannelObserver(axis, make);
        int channels = 3;
        RangeObserver[] alone = new RangeObserver[channels];
        for (int c = 0; c < channels; c++) {
            alone[c] = make.get();
        }
        for (int batch = 0; batch < 2; batch++) {
            // [4, 3, 5] with channels on `axis` (0: [3, 4, 5], 1: [4, 3, 5])
            float[][] perChannelValues = new float[channels][20];
            float[] xs = new float[60];
            for (int i = 0; i < 4; i++) {
                for (int c = 0; c < channels; c++) {
                    for (int k = 0; k < 5; k++) {
                        float v = (float) (r.nextGaussian() * (c + 1) + c);
                        perChannelValues[c][i * 5 + k] = v;
                        int index = axis == 0 ? (c * 4 + i) * 5 + k : (i * channels + c) * 5 + k;
                        xs[index] = v;
                    }
                }
            }
            long[] shape = axis == 0 ? new long[] {channels, 4, 5} : new long[] {4, channels, 5};
            perChannel.observe(Nd4j.create(xs, shape, 'c'));
            for (int c = 0; c < channels; c++) {
                alone[c].observe(perChannelValues[c], 0, 20);
            }
        }
        assertThat(perChannel.channels()).isEqualTo(channels);
        for (int c = 0; c < channels; c++) {
            assertThat(perChannel.mins()[c]).as("channel %d min", c).isEqualTo(alone[c].min());
            assertThat(perChannel.maxs()[c]).as("channel %d max", c).isEqualTo(alone[c].max());
        }
    }

    @Property(tries = 1)
    void nonFiniteValuesAreRefusedWithTheChannel() {
        PerChannelObserver o = new PerChannelObserver(1, () -> new PercentileObserver(99.9, 64, -1));
        assertThatThrownBy(() -> o.observe(Nd4j.createFromArray(new float[][] {{1f, 2f}, {3f, Float.NaN}})))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("channel 1").hasMessageContaining("NaN");
        assertThatThrownBy(() -> new PercentileObserver(40, 64, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Property(tries = 1)
    void freezesLikeTheOtherObservers() {
        PercentileObserver o = new PercentileObserver(100, 64, 1);
        o.observe(new float[] {0f, 1f}, 0, 2);
        o.observe(new float[] {-50f, 50f}, 0, 2);
        assertThat(o.isFrozen()).isTrue();
        assertThat(o.max()).isEqualTo(1f);
        assertThat(o.min()).isEqualTo(0f);
    }

    private static double error(IntGrid grid, float[] xs, float min, float max) {
        IntGrid.Params p = grid.fitRange(Math.min(min, 0f), Math.max(max, 0f));
        double e = 0;
        for (float x : xs) {
            double d = grid.fakeQuantize(x, p.scale(), p.zero()) - (double) x;
            e += d * d;
        }
        return e;
    }

    /** 0 normal, 1 uniform, 2 ReLU of a normal (many exact zeros), 3 Student t with 2 degrees of freedom, 4 Laplace. */
    private static float[] sample(Random r, int distribution, int n, double scale) {
        float[] xs = new float[n];
        for (int i = 0; i < n; i++) {
            double v = switch (distribution) {
                case 0 -> r.nextGaussian();
                case 1 -> r.nextDouble() * 2 - 0.5;
                case 2 -> Math.max(0, r.nextGaussian());
                case 4 -> (r.nextBoolean() ? 1 : -1) * -Math.log(1 - r.nextDouble());
                default -> r.nextGaussian() / Math.sqrt((Math.pow(r.nextGaussian(), 2) + Math.pow(r.nextGaussian(), 2)) / 2);
            };
            xs[i] = (float) (v * scale);
        }
        return xs;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
