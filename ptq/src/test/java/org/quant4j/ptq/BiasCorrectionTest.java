package org.quant4j.ptq;

import org.quant4j.ptq.rtn.Rtn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;

/** The math of {@link BiasCorrection}: the shift restores the float layer's mean output. */
class BiasCorrectionTest {
    /** A layer {@code [out, in]} with Gaussian weights, its RTN quantization, and rows of float and shifted inputs. */
    private record Layer(float[] w, float[] quantized, float[] bias, float[] x, float[] xHat, int rows, int in) {
        static Layer random(long seed, int out, int in, int rows, int bits) {
            SplittableRandom r = new SplittableRandom(seed);
            float[] w = new float[out * in];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (0.1 * RealisticWeights.gaussian(r));
            }
            INDArray weight = Nd4j.create(w, new long[] {out, in}, 'c');
            float[] q = new Rtn().solve("layer", weight, null, QuantSpec.builder().bits(bits).perChannel().build())
                    .dequantizeToArray();
            float[] bias = new float[out];
            for (int i = 0; i < out; i++) {
                bias[i] = (float) RealisticWeights.gaussian(r);
            }
            // ReLU features, and the same features after a quantized upstream layer: a per-channel bias plus noise
            float[] x = new float[rows * in];
            float[] xHat = new float[rows * in];
            float[] drift = new float[in];
            for (int c = 0; c < in; c++) {
                drift[c] = (float) (0.05 * RealisticWeights.gaussian(r));
            }
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.max(0, 0.5 + RealisticWeights.gaussian(r));
                xHat[i] = (float) Math.max(0, x[i] + drift[i % in] + 0.1 * RealisticWeights.gaussian(r));
            }
            return new Layer(w, q, bias, x, xHat, rows, in);
        }

        double[] mean(float[] rowsOf) {
            BiasCorrection.MeanInput m = new BiasCorrection.MeanInput(in);
            // fed in two batches, as the pipeline does
            int half = rows / 2;
            m.add(Nd4j.create(java.util.Arrays.copyOfRange(rowsOf, 0, half * in), new long[] {half, in}, 'c'));
            m.add(Nd4j.create(java.util.Arrays.copyOfRange(rowsOf, half * in, rows * in), new long[] {rows - half, in}, 'c'));
            assertThat(m.rows()).isEqualTo(rows);
            return m.mean();
        }

        /** Mean over the rows of {@code weight·x + bias}, per output, computed row by row in double. */
        double[] meanOutput(float[] weight, float[] input, float[] b) {
            int out = b.length;
            double[] mean = new double[out];
            for (int n = 0; n < rows; n++) {
                for (int o = 0; o < out; o++) {
                    double s = b[o];
                    for (int c = 0; c < in; c++) {
                        s += (double) weight[o * in + c] * input[n * in + c];
                    }
                    mean[o] += s / rows;
                }
            }
            return mean;
        }
    }

    @Property(tries = 40)
    void afterTheShiftTheQuantizedLayersMeanOutputIsTheFloatLayers(@ForAll long seed,
            @ForAll @IntRange(min = 1, max = 24) int out, @ForAll @IntRange(min = 1, max = 48) int in,
            @ForAll @IntRange(min = 2, max = 200) int rows, @ForAll @IntRange(min = 2, max = 4) int bits) {
        Layer l = Layer.random(seed, out, in, rows, bits);
        float[] shift = BiasCorrection.shift("dense", l.w(), l.quantized(), l.mean(l.x()), l.mean(l.xHat()));
        float[] corrected = l.bias().clone();
        for (int o = 0; o < out; o++) {
            corrected[o] += shift[o];
        }
        double[] reference = l.meanOutput(l.w(), l.x(), l.bias());
        double[] before = l.meanOutput(l.quantized(), l.xHat(), l.bias());
        double[] after = l.meanOutput(l.quantized(), l.xHat(), corrected);
        for (int o = 0; o < out; o++) {
            // float tolerance: the shift and bias are float32 of magnitude ~|b| + |W|·|x|
            double tolerance = 1e-6 * (1 + Math.abs(reference[o]) + Math.abs(shift[o]));
            assertThat(after[o]).as("output %d (uncorrected mean %s)", o, before[o])
                    .isCloseTo(reference[o], Offset.offset(tolerance));
        }
    }

    @Test
    void theShiftIsZeroWhenNeitherTheWeightNorTheInputsChanged() {
        Layer l = Layer.random(5, 16, 40, 64, 3);
        double[] mean = l.mean(l.x());
        assertThat(BiasCorrection.shift("dense", l.w(), l.w().clone(), mean, mean.clone())).containsOnly(0f);
    }

    @Test
    void theShiftOfAnUnchangedInputIsMinusTheWeightErrorTimesTheMean() {
        // Nagel et al. 2019, sec. 4.2: E[x̂] = E[x] gives -(Ŵ − W)·E[x]
        Layer l = Layer.random(9, 6, 30, 50, 2);
        double[] mean = l.mean(l.x());
        float[] shift = BiasCorrection.shift("dense", l.w(), l.quantized(), mean, mean);
        for (int o = 0; o < 6; o++) {
            double expected = 0;
            for (int c = 0; c < 30; c++) {
                expected -= (l.quantized()[o * 30 + c] - l.w()[o * 30 + c]) * mean[c];
            }
            assertThat((double) shift[o]).isCloseTo(expected, Offset.offset(1e-6));
        }
        assertThat(shift).as("2-bit RTN changes the mean output").isNotEqualTo(new float[6]);
    }

    @Test
    void mismatchedSizesNameTheLayer() {
        float[] w = new float[12];
        assertThatThrownBy(() -> BiasCorrection.shift("block1/fc", w, new float[10], new double[4], new double[4]))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("'block1/fc'");
        assertThatThrownBy(() -> BiasCorrection.shift("block1/fc", w, w, new double[4], new double[3]))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("'block1/fc'");
        assertThatThrownBy(() -> BiasCorrection.shift("block1/fc", w, w, new double[5], new double[5]))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("'block1/fc'");
    }

    @Test
    void theMeanInputRefusesRowsOfAnotherWidthAndAnEmptyMean() {
        BiasCorrection.MeanInput m = new BiasCorrection.MeanInput(4);
        assertThatThrownBy(m::mean).isInstanceOf(InvalidTensorException.class);
        assertThatThrownBy(() -> m.add(Nd4j.zeros(3, 5))).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("width 4");
    }
}
