package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Granularity;
import org.quant4j.core.Half;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;

/**
 * The vectorised weight fake quantizers against plain loops written from the definitions, for the DL4J
 * layouts: Dense {@code [nIn, nOut]} (a channel is a column) and Convolution {@code [out, in, kh, kw]}.
 */
class WeightQuantizerTest {

    @Property(tries = 30)
    void denseIntMatchesTheLoopReference(@ForAll @IntRange(min = 2, max = 8) int bits, @ForAll boolean symmetric,
                                         @ForAll @IntRange(min = 0, max = 2) int granularityKind,
                                         @ForAll @IntRange(min = 1, max = 1000) int seed) {
        int groups = 3, g = 4, nIn = groups * g, nOut = 5;
        Granularity gran = granularityKind == 0 ? Granularity.perTensor()
                : granularityKind == 1 ? Granularity.perChannel() : Granularity.perGroup(g);
        QuantSpec spec = QuantSpec.integer(bits, symmetric, gran);
        float[][] w = randomMatrix(nIn, nOut, seed); // w[i][o]
        INDArray dl4jW = Nd4j.create(w).castTo(DataType.FLOAT).dup('f');
        INDArray q = new FakeQuantWeightNoise("dense", WeightBlocks.Layout.DENSE, spec).fakeQuantize(dl4jW, 0);
        assertThat(q.shape()).containsExactly(nIn, nOut);
        int blockLen = granularityKind == 0 ? nIn * nOut : granularityKind == 1 ? nIn : g;
        for (int o = 0; o < nOut; o++) {
            for (int i = 0; i < nIn; i++) {
                // the block of (i, o): the whole tensor, column o, or rows [i/g*g, i/g*g+g) of column o
                float[] block = granularityKind == 0 ? flatten(w) : column(w, o, granularityKind == 1 ? 0 : i / g * g, blockLen);
                float expected = referenceInt(w[i][o], block, bits, symmetric);
                assertThat(q.getFloat(i, o)).as("(%d, %d) of %s", i, o, spec).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
    }

    @Property(tries = 20)
    void convolutionPerChannelBlocksAreOutputChannels(@ForAll @IntRange(min = 1, max = 1000) int seed) {
        int out = 3, in = 2, k = 3;
        INDArray w = Nd4j.rand(DataType.FLOAT, out, in, k, k).subi(0.5).muli(seed % 7 + 1);
        INDArray q = new FakeQuantWeightNoise("conv", WeightBlocks.Layout.CONVOLUTION,
                QuantSpec.integer(4, true, Granularity.perChannel())).fakeQuantize(w, 0);
        for (int o = 0; o < out; o++) {
            float[] block = w.get(org.nd4j.linalg.indexing.NDArrayIndex.point(o)).dup('c').data().asFloat();
            float[] got = q.get(org.nd4j.linalg.indexing.NDArrayIndex.point(o)).dup('c').data().asFloat();
            for (int j = 0; j < block.length; j++) {
                assertThat(got[j]).isCloseTo(referenceInt(block[j], block, 4, true), org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
    }

    @Property(tries = 20)
    void ternaryIsMinusZeroPlusGammaWithTheAbsmeanScale(@ForAll @IntRange(min = 1, max = 1000) int seed) {
        float[][] w = randomMatrix(8, 4, seed);
        INDArray q = new FakeQuantWeightNoise("dense", WeightBlocks.Layout.DENSE, QuantSpec.ternary())
                .fakeQuantize(Nd4j.create(w).castTo(DataType.FLOAT), 0);
        float[] all = flatten(w);
        double meanAbs = 0;
        for (float v : all) {
            meanAbs += Math.abs(v);
        }
        float gamma = Half.toFloat(Half.fromFloat((float) (meanAbs / all.length)));
        for (int i = 0; i < 8; i++) {
            for (int o = 0; o < 4; o++) {
                float expected = Math.max(-1, Math.min(1, Math.round(w[i][o] / gamma))) * gamma;
                assertThat(q.getFloat(i, o)).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
    }

    @Property(tries = 10)
    void zeroWeightsStayZero(@ForAll boolean symmetric) {
        INDArray q = new FakeQuantWeightNoise("dense", WeightBlocks.Layout.DENSE,
                QuantSpec.integer(3, symmetric, Granularity.perChannel())).fakeQuantize(Nd4j.zeros(DataType.FLOAT, 6, 2), 0);
        assertThat(q.sumNumber().doubleValue()).isZero();
        assertThat(q.amaxNumber().doubleValue()).isZero();
    }

    @Property(tries = 1)
    void groupThatDoesNotDivideTheInputWidthIsRefusedWithTheLayerName() {
        assertThatThrownBy(() -> new FakeQuantWeightNoise("layer 3 (DenseLayer)", WeightBlocks.Layout.DENSE,
                QuantSpec.integer(4, true, Granularity.perGroup(5))).fakeQuantize(Nd4j.zeros(DataType.FLOAT, 12, 2), 0))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("layer 3 (DenseLayer)").hasMessageContaining("does not divide the input width 12");
    }

    @Property(tries = 1)
    void nanWeightIsReportedWithLayerAndIteration() {
        INDArray w = Nd4j.ones(DataType.FLOAT, 4, 2);
        w.putScalar(1, 1, Float.NaN);
        assertThatThrownBy(() -> new FakeQuantWeightNoise("layer 0 (DenseLayer)", WeightBlocks.Layout.DENSE,
                QuantSpec.integer(4, true, Granularity.perChannel())).fakeQuantize(w, 17))
                .hasMessageContaining("layer 0 (DenseLayer), iteration 17").hasMessageContaining("NaN");
    }

    /** Definition of INT fake quantization on one element given its block (scales rounded to FP16). */
    static float referenceInt(float x, float[] block, int bits, boolean symmetric) {
        float min = 0, max = 0, absmax = 0;
        for (float v : block) {
            min = Math.min(min, v);
            max = Math.max(max, v);
            absmax = Math.max(absmax, Math.abs(v));
        }
        if (symmetric) {
            int qmax = (1 << (bits - 1)) - 1;
            float s = fp16(absmax / qmax);
            s = s > 0 ? s : 1;
            return Math.max(-qmax, Math.min(qmax, Math.round(x / s))) * s;
        }
        int qmax = (1 << bits) - 1;
        float s = fp16((max - min) / qmax);
        s = s > 0 ? s : 1;
        float z = Math.round(-min / s);
        return (Math.max(0, Math.min(qmax, Math.round(x / s) + z)) - z) * s;
    }

    private static float fp16(float v) {
        return Half.toFloat(Half.fromFloat(v));
    }

    private static float[][] randomMatrix(int rows, int cols, int seed) {
        Random r = new Random(seed);
        float[][] w = new float[rows][cols];
        for (float[] row : w) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) (r.nextGaussian() * (1 + seed % 5) + (seed % 3 == 0 ? 0.3 : 0));
            }
        }
        return w;
    }

    private static float[] flatten(float[][] w) {
        float[] f = new float[w.length * w[0].length];
        for (int i = 0; i < w.length; i++) {
            System.arraycopy(w[i], 0, f, i * w[0].length, w[0].length);
        }
        return f;
    }

    private static float[] column(float[][] w, int col, int from, int length) {
        float[] c = new float[length];
        for (int i = 0; i < length; i++) {
            c[i] = w[from + i][col];
        }
        return c;
    }
}
