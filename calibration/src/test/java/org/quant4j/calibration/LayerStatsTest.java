package org.quant4j.calibration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

class LayerStatsTest {
    private static final int ROWS = 97;
    private static final int WIDTH = 12;
    private static final float[] X = correlatedRows(ROWS, WIDTH, 3);

    /** Rows with correlated channels, a non-zero mean and one outlier channel. */
    private static float[] correlatedRows(int rows, int width, long seed) {
        Random random = new Random(seed);
        float[] x = new float[rows * width];
        for (int r = 0; r < rows; r++) {
            double z1 = random.nextGaussian();
            double z2 = random.nextGaussian();
            for (int c = 0; c < width; c++) {
                double v = (c % 3) * z1 + z2 * Math.sin(c) + 0.5 + 0.1 * random.nextGaussian();
                x[r * width + c] = (float) (c == 5 ? 40 * v : v);
            }
        }
        return x;
    }

    private static INDArray rows(int from, int to) {
        float[] part = new float[(to - from) * WIDTH];
        System.arraycopy(X, from * WIDTH, part, 0, part.length);
        return Nd4j.create(part, new long[] {to - from, WIDTH}, DataType.FLOAT);
    }

    /** Splits [0, ROWS) at the given cut points (deduplicated, sorted, clipped). */
    private static LayerStats fed(List<Integer> cuts, int reservoir, long seed) {
        LayerStats stats = new LayerStats("fc1", WIDTH, reservoir, seed);
        int from = 0;
        for (int cut : cuts.stream().map(c -> Math.floorMod(c, ROWS + 1)).sorted().distinct().toList()) {
            stats.accumulate("fc1", rows(from, Math.max(from, cut)));
            from = Math.max(from, cut);
        }
        stats.accumulate("fc1", rows(from, ROWS));
        return stats;
    }

    @Provide
    Arbitrary<List<Integer>> splits() {
        return Arbitraries.integers().between(0, ROWS).list().ofMaxSize(12);
    }

    @Property(tries = 40)
    void hessianIsTwoOverNTimesXtXWhateverTheBatchSplit(@ForAll("splits") List<Integer> cuts) {
        LayerStats stats = fed(cuts, 8, 1);
        float[] h = stats.hessian().data().asFloat();
        assertThat(stats.rowCount()).isEqualTo(ROWS);
        double[][] expected = new double[WIDTH][WIDTH];
        for (int i = 0; i < WIDTH; i++) {
            for (int j = 0; j < WIDTH; j++) {
                for (int r = 0; r < ROWS; r++) {
                    expected[i][j] += 2.0 / ROWS * X[r * WIDTH + i] * X[r * WIDTH + j];
                }
            }
        }
        for (int i = 0; i < WIDTH; i++) {
            for (int j = 0; j < WIDTH; j++) { // float32 rounding, relative to the entry's natural scale
                double tolerance = 1e-5 * Math.sqrt(expected[i][i] * expected[j][j]);
                assertThat((double) h[i * WIDTH + j]).as("H[%d][%d]", i, j)
                        .isCloseTo(expected[i][j], org.assertj.core.data.Offset.offset(tolerance));
            }
        }
    }

    @Property(tries = 40)
    void reservoirAndMeansDoNotDependOnTheBatchSplit(@ForAll("splits") List<Integer> cuts) {
        LayerStats whole = fed(List.of(), 16, 9);
        LayerStats split = fed(cuts, 16, 9);
        assertThat(split.sampleRows().data().asFloat()).containsExactly(whole.sampleRows().data().asFloat());
        assertThat(split.meanAbs()).containsExactly(whole.meanAbs());
    }

    @Test
    void meanAbsIsThePerChannelMeanOfAbsoluteValues() {
        float[] mean = fed(List.of(40), 4, 1).meanAbs();
        for (int c = 0; c < WIDTH; c++) {
            double expected = 0;
            for (int r = 0; r < ROWS; r++) {
                expected += Math.abs(X[r * WIDTH + c]);
            }
            assertThat((double) mean[c]).isCloseTo(expected / ROWS, org.assertj.core.data.Offset.offset(1e-5 * expected));
        }
    }

    @Test
    void reservoirHoldsInputRowsAndAllOfThemWhenLargeEnough() {
        LayerStats all = fed(List.of(10, 50), 200, 4);
        assertThat(all.sampleCount()).isEqualTo(ROWS);
        assertThat(all.sampleRows().data().asFloat()).containsExactly(X);

        LayerStats some = fed(List.of(10, 50), 20, 4);
        float[] sample = some.sampleRows().data().asFloat();
        assertThat(some.sampleRows().shape()).containsExactly(20, WIDTH);
        List<List<Float>> inputRows = new ArrayList<>();
        for (int r = 0; r < ROWS; r++) {
            inputRows.add(rowOf(X, r));
        }
        for (int k = 0; k < 20; k++) {
            assertThat(inputRows).contains(rowOf(sample, k));
        }
    }

    @Test
    void reservoirSamplesEveryRowWithEqualProbability() {
        int rows = 40;
        int capacity = 8;
        int seeds = 1500;
        int[] hits = new int[rows];
        for (int seed = 0; seed < seeds; seed++) {
            LayerStats stats = new LayerStats("fc", 1, capacity, seed);
            float[] ids = new float[rows];
            for (int r = 0; r < rows; r++) {
                ids[r] = r;
            }
            stats.accumulate("fc", Nd4j.create(ids, new long[] {rows, 1}, DataType.FLOAT));
            for (float id : stats.sampleRows().data().asFloat()) {
                hits[(int) id]++;
            }
        }
        double expected = seeds * (double) capacity / rows; // 300, binomial sd ~ 15.5
        for (int r = 0; r < rows; r++) {
            assertThat((double) hits[r]).as("row %d", r).isBetween(expected - 5 * 15.5, expected + 5 * 15.5);
        }
    }

    @Test
    void acceptsSequenceBatchesAndOtherFloatTypesWithoutModifyingThem() {
        INDArray sequence = rows(0, 96).reshape(8, 12, WIDTH).castTo(DataType.DOUBLE);
        INDArray copy = sequence.dup();
        LayerStats stats = new LayerStats("attn", WIDTH, 4, 0);
        stats.accumulate("attn", sequence);
        assertThat(stats.rowCount()).isEqualTo(96);
        assertThat(sequence).isEqualTo(copy);
        LayerStats flat = new LayerStats("attn", WIDTH, 4, 0);
        flat.accumulate("attn", rows(0, 96));
        assertThat(stats.hessian().data().asFloat()).containsExactly(flat.hessian().data().asFloat());
    }

    @Test
    void rejectsWrongWidthNamingTheLayer() {
        LayerStats stats = new LayerStats(WIDTH);
        assertThatThrownBy(() -> stats.accumulate("encoder.fc2", Nd4j.zeros(DataType.FLOAT, 3, WIDTH + 1)))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("encoder.fc2").hasMessageContaining("width 13").hasMessageContaining("expected 12");
        assertThatThrownBy(() -> stats.accumulate("encoder.fc2", Nd4j.zeros(DataType.FLOAT, WIDTH)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("encoder.fc2");
    }

    @Test
    void rejectsNonFiniteActivationsNamingLayerAndPositionAndKeepsPriorState() {
        LayerStats stats = new LayerStats("fc1", WIDTH, 4, 0);
        stats.accumulate("fc1", rows(0, 10));
        float[] before = stats.hessian().data().asFloat();
        INDArray bad = rows(10, 20);
        bad.putScalar(3, 7, Float.NaN);
        assertThatThrownBy(() -> stats.accumulate("fc1", bad)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("fc1").hasMessageContaining("NaN").hasMessageContaining("row 3")
                .hasMessageContaining("input 7");
        INDArray infinite = rows(10, 20);
        infinite.putScalar(0, 0, Float.POSITIVE_INFINITY);
        assertThatThrownBy(() -> stats.accumulate("fc1", infinite)).hasMessageContaining("Infinity");
        assertThat(stats.rowCount()).isEqualTo(10);
        assertThat(stats.hessian().data().asFloat()).containsExactly(before);
    }

    @Test
    void emptyStatisticsHaveNoHessian() {
        LayerStats stats = new LayerStats("decoder.out", WIDTH, 4, 0);
        stats.accumulate("decoder.out", Nd4j.zeros(DataType.FLOAT, 0, WIDTH));
        assertThat(stats.rowCount()).isZero();
        assertThatThrownBy(stats::hessian).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("decoder.out").hasMessageContaining("no calibration rows");
        assertThatThrownBy(stats::meanAbs).isInstanceOf(InvalidTensorException.class);
    }

    @Test
    void hessianIsACopy() {
        LayerStats stats = fed(List.of(), 4, 0);
        INDArray h = stats.hessian();
        h.assign(0);
        assertThat(stats.hessian().sumNumber().doubleValue()).isNotZero();
    }

    private static List<Float> rowOf(float[] data, int r) {
        List<Float> row = new ArrayList<>();
        for (int c = 0; c < WIDTH; c++) {
            row.add(data[r * WIDTH + c]);
        }
        return row;
    }


    @Test
    void withoutTheHessianTheMeansAndTheSampleAreTheSame() {
        Random random = new Random(3);
        LayerStats full = new LayerStats("fc", 12, 20, 5L, true);
        LayerStats light = new LayerStats("fc", 12, 20, 5L, false);
        for (int b = 0; b < 4; b++) {
            float[] v = new float[17 * 12];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) random.nextGaussian();
            }
            INDArray batch = Nd4j.create(v, new long[] {17, 12}, 'c');
            full.accumulate("fc", batch);
            light.accumulate("fc", batch);
        }
        assertThat(light.rowCount()).isEqualTo(full.rowCount()).isEqualTo(68);
        assertThat(light.meanAbs()).containsExactly(full.meanAbs());
        assertThat(light.sampleRows()).isEqualTo(full.sampleRows());
        assertThatThrownBy(light::hessian).isInstanceOf(IllegalStateException.class).hasMessageContaining("'fc'");
    }
}
