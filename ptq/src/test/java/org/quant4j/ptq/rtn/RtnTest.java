package org.quant4j.ptq.rtn;

import org.quant4j.ptq.RangeSearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.formats.IntGrid;

class RtnTest {
    private static final int ROWS = 64;
    private static final int COLS = 256;
    private static final INDArray HEAVY_TAILED = heavyTailed(new Random(3));

    /** Student-t-like weights (Gaussian / sqrt of a chi-square with 3 degrees of freedom): a few large values. */
    private static INDArray heavyTailed(Random random) {
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            double chi = 0;
            for (int k = 0; k < 3; k++) {
                double z = random.nextGaussian();
                chi += z * z;
            }
            w[i] = (float) (random.nextGaussian() / Math.sqrt(chi / 3));
        }
        return Nd4j.create(w, new long[] {ROWS, COLS}, DataType.FLOAT);
    }

    @Test
    void minMaxIsTheCoreRoundToNearest() {
        for (QuantSpec spec : new QuantSpec[] {QuantSpec.integer(4, true, Granularity.perChannel()),
                QuantSpec.integer(3, false, Granularity.perGroup(64))}) {
            assertThat(new Rtn().solve("fc", HEAVY_TAILED, null, spec))
                    .isEqualTo(Quantizer.quantize("fc", HEAVY_TAILED, spec));
        }
    }

    @Test
    void otherFormatsUseTheirCodecWhateverTheRangeSearch() {
        QuantSpec ternary = QuantSpec.ternary();
        assertThat(Rtn.mse().solve("fc", HEAVY_TAILED, null, ternary))
                .isEqualTo(Quantizer.quantize("fc", HEAVY_TAILED, ternary));
    }

    @Test
    void mseSearchLowersTheBlockErrorInItsNorm() {
        QuantSpec spec = QuantSpec.integer(4, false, Granularity.perGroup(64));
        QuantizedTensor minMax = new Rtn().solve("fc", HEAVY_TAILED, null, spec);
        QuantizedTensor mse = Rtn.mse().solve("fc", HEAVY_TAILED, null, spec);
        float[] w = HEAVY_TAILED.data().asFloat();
        double[] errMinMax = blockErrors(w, minMax.dequantizeToArray(), 64, 2.4);
        double[] errMse = blockErrors(w, mse.dequantizeToArray(), 64, 2.4);
        int better = 0;
        for (int b = 0; b < errMse.length; b++) {
            assertThat(errMse[b]).isLessThanOrEqualTo(errMinMax[b] * (1 + 1e-9));
            better += errMse[b] < errMinMax[b] ? 1 : 0;
        }
        assertThat(better).as("blocks whose range the search shrank").isGreaterThan(errMse.length / 2);
        assertThat(sum(blockErrors(w, mse.dequantizeToArray(), 64, 2)))
                .isLessThan(sum(blockErrors(w, minMax.dequantizeToArray(), 64, 2)));
    }

    @Test
    void mseSearchMatchesTheReferenceGridForOneBlock() {
        // find_params(mse=True), per channel, asymmetric, 3 bits: the winner among p = 1 - i/100, i < 80
        float[] row = HEAVY_TAILED.getRow(0).dup().data().asFloat();
        IntGrid grid = IntGrid.of(QuantSpec.integer(3, false, Granularity.perChannel()));
        float min = 0;
        float max = 0;
        for (float v : row) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        double best = Double.POSITIVE_INFINITY;
        IntGrid.Params expected = null;
        for (int i = 0; i < 80; i++) {
            float p = 1f - i / 100f;
            IntGrid.Params c = grid.fitRange(p * min, p * max);
            double err = 0;
            for (float v : row) {
                err += Math.pow(Math.abs(grid.fakeQuantize(v, c.scale(), c.zero()) - v), 2.4);
            }
            if (err < best) {
                best = err;
                expected = c;
            }
        }
        assertThat(RangeSearch.mse().fit(grid, row, 0, row.length)).isEqualTo(expected);
    }

    @Test
    void rejectsNonFiniteWeightsNamingTheLayer() {
        INDArray w = HEAVY_TAILED.dup();
        w.putScalar(5, 7, Float.NaN);
        assertThatThrownBy(() -> Rtn.mse().solve("decoder.fc", w, null, QuantSpec.integer(4, true, Granularity.perChannel())))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("decoder.fc")
                .hasMessageContaining("row 5").hasMessageContaining("column 7");
    }

    private static double[] blockErrors(float[] w, float[] q, int block, double norm) {
        double[] e = new double[w.length / block];
        for (int i = 0; i < w.length; i++) {
            e[i / block] += Math.pow(Math.abs(w[i] - q[i]), norm);
        }
        return e;
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s;
    }
}
