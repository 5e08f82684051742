package org.quant4j.ptq.claq;

import org.quant4j.ptq.HeavyTailedLayer;
import org.quant4j.ptq.RealisticWeights;
import org.quant4j.ptq.SyntheticLayer;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.rtn.Rtn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.Half;
import org.quant4j.core.InvalidTensorException;

/** CLAQ's column loop, its column plan, its bit accounting and its robustness. */
class ClaqTest {
    private static final int OUT = 512;
    private static final int IN = 384;
    private static final SyntheticLayer LAYER = HeavyTailedLayer.create(21, OUT, IN);
    private static final LayerStats STATS = LAYER.stats("fc");

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of(ClaqParams.fixed(2), 128),
                Arguments.of(ClaqParams.builder().adaptivePrecision(2.5).actOrder(false).build(), 128),
                Arguments.of(ClaqParams.builder().adaptivePrecision(2.1).reserveOutliers(true).build(), 96),
                Arguments.of(ClaqParams.builder().adaptivePrecision(3.1).reserveOutliers(true).blockSize(50).build(), 50));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void blockedSweepEqualsTheTextbookColumnLoop(ClaqParams params, int blockSize) {
        int rows = 96;
        int n = 160;
        SyntheticLayer layer = HeavyTailedLayer.create(5, rows, n);
        LayerStats stats = layer.stats("small");
        Claq.Result solved = new Claq(params).solveDetailed("small", layer.weight(), stats);
        TextbookClaq textbook = new TextbookClaq();
        double[] expected = textbook.run(layer.weight().data().asFloat(), rows, n, stats.hessian().data().asFloat(),
                solved.tensor(), params.actOrder(), solved.percDamp());
        float[] actual = solved.tensor().dequantizeToArray();
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertThat(worst).as("largest |textbook - solver| (blocks of %d)", blockSize).isLessThan(1e-4);
        assertThat(textbook.ties).as("nearest-centroid decisions left to float noise").isLessThan(rows * n / 2000);
        assertThat(textbook.rankTies).isLessThan(5);
        assertThat(textbook.worstOutlierMismatch).as("stored outliers are the FP16 of their weights")
                .isLessThan(1e-3);
    }

    @Test
    void atTwoAndAHalfBitsClaqBeatsGptqAtTwoAndRtnAtThree() {
        Errors e = Errors.measure(LAYER, STATS);
        System.out.println(e.table());
        assertThat(e.claq25).as(e.table()).isLessThan(e.gptq2).isLessThan(e.rtn3);
        assertThat(e.claq25Reserved).isLessThan(e.claq25);
        assertThat(e.claq21).isLessThan(e.claq20).isGreaterThan(e.claq25);
    }

    /** Held-out relative output errors and honest bits per weight of CLAQ and the baselines on one layer. */
    record Errors(double claq20, double claq21, double claq25, double claq25Reserved, double claq31, double gptq2,
                  double gptq3, double rtn3, String table) {
        static Errors measure(SyntheticLayer layer, LayerStats stats) {
            StringBuilder t = new StringBuilder(String.format("%-34s %12s %8s%n", "method on " + OUT + "x" + IN,
                    "output err", "bits/w"));
            double[] claq = new double[5];
            ClaqParams[] params = {ClaqParams.fixed(2), ClaqParams.adaptive(2.1), ClaqParams.adaptive(2.5),
                    ClaqParams.builder().adaptivePrecision(2.5).reserveOutliers(true).build(), ClaqParams.adaptive(3.1)};
            String[] names = {"CLAQ 2 bits", "CLAQ AP 2.1", "CLAQ AP 2.5", "CLAQ AP 2.5 + OR", "CLAQ AP 3.1"};
            for (int i = 0; i < params.length; i++) {
                ClaqTensor q = new Claq(params[i]).solve("fc", layer.weight(), stats);
                claq[i] = layer.relativeOutputError(q.dequantize());
                t.append(String.format("%-34s %12.5f %8.3f%n", names[i], claq[i], q.bitsPerWeight()));
            }
            double[] baseline = new double[3];
            String[] baselineNames = {"GPTQ int2 asym g128", "GPTQ int3 asym g128", "RTN int3 asym g128"};
            for (int i = 0; i < 3; i++) {
                var spec = org.quant4j.core.QuantSpec.builder().bits(i == 0 ? 2 : 3).asymmetric().groupSize(128).build();
                var q = i < 2 ? new Gptq().solve("fc", layer.weight(), stats, spec) : new Rtn().solve("fc", layer.weight(), null, spec);
                baseline[i] = layer.relativeOutputError(q.dequantize());
                t.append(String.format("%-34s %12.5f %8.3f%n", baselineNames[i], baseline[i], q.bitsPerWeight()));
            }
            return new Errors(claq[0], claq[1], claq[2], claq[3], claq[4], baseline[0], baseline[1], baseline[2],
                    t.toString());
        }
    }

    @Test
    void bitsPerWeightCountsEveryStoredByte() {
        ClaqParams params = ClaqParams.builder().adaptivePrecision(2.5).reserveOutliers(true).build();
        ClaqTensor q = new Claq(params).solve("fc", LAYER.weight(), STATS);
        int high = (int) Math.round(0.25 * IN);
        int topColumns = (int) Math.round(0.1 * IN);
        long outliers = 2L * topColumns * Math.round(0.014 * OUT) + 2L * (IN - topColumns) * Math.round(0.004 * OUT);
        long codeBytes = high * (OUT * 4L / 8) + (IN - high) * (OUT * 2L / 8);
        long codebookBytes = 2L * (high * 16 + (IN - high) * 4);
        long widthBytes = IN;
        long outlierBytes = 4L * (IN + 1) + outliers * (2 + 2);
        long expected = codeBytes + codebookBytes + widthBytes + outlierBytes;

        assertThat(q.outlierCount()).isEqualTo(outliers);
        assertThat(q.averageCodeBits()).isEqualTo((4.0 * high + 2.0 * (IN - high)) / IN);
        assertThat(q.storageBytes()).isEqualTo(expected);
        assertThat(q.bitsPerWeight()).isEqualTo(expected * 8.0 / (OUT * IN));
        System.out.printf("CLAQ AP 2.5 + OR on %dx%d: %.4f average code bits, %d outliers, %.4f bits/weight%n", OUT, IN,
                q.averageCodeBits(), q.outlierCount(), q.bitsPerWeight());
    }

    @Test
    void columnsWithOutliersGetTheWiderCodes() {
        float[] w = RealisticWeights.generate(OUT, IN, 77);
        double meanAbs = 0;
        for (float v : w) {
            meanAbs += Math.abs(v) / w.length;
        }
        int[] marked = {5, 17, 40, 41, 99, 150, 200, 256, 300, 383};
        for (int k = 0; k < marked.length; k++) {
            for (int t = 0; t < 3 + k % 3; t++) { // 3..5 weights beyond 13·mean|W| in each marked column
                w[(31 * t + 7 * k) % OUT * IN + marked[k]] = (float) ((t % 2 == 0 ? 1 : -1) * 20 * meanAbs);
            }
        }
        INDArray weight = Nd4j.create(w, new long[] {OUT, IN}, DataType.FLOAT);
        ClaqTensor q = new Claq(ClaqParams.adaptive(2.1)).solve("fc", weight, STATS);
        int wide = 0;
        for (int c = 0; c < IN; c++) {
            wide += q.columnBits(c) == 4 ? 1 : 0;
        }
        assertThat(wide).isEqualTo((int) Math.round(0.05 * IN));
        for (int c : marked) {
            assertThat(q.columnBits(c)).as("column %d holds outliers", c).isEqualTo(4);
        }
        ClaqColumnPlan plan = ClaqColumnPlan.of(w, OUT, IN, ClaqParams.adaptive(2.1));
        assertThat(Arrays.copyOf(plan.rank(), 3)).containsExactlyInAnyOrder(40, 150, 300); // five outliers each (k % 3 == 2)
    }

    @Test
    void sameInputSameTensor() {
        ClaqParams params = ClaqParams.builder().adaptivePrecision(2.5).reserveOutliers(true).build();
        ClaqTensor a = new Claq(params).solve("fc", LAYER.weight(), STATS);
        ClaqTensor b = new Claq(params).solve("fc", LAYER.weight().dup(), LAYER.stats("fc"));
        assertThat(a).isEqualTo(b);
    }

    @Test
    void eightBitColumnsAreNearlyExact() {
        ClaqTensor q = new Claq(ClaqParams.fixed(8)).solve("fc", LAYER.weight(), STATS);
        assertThat(LAYER.relativeOutputError(q.dequantize())).isLessThan(1e-4);
    }

    @Test
    void deadInputsAreZeroed() {
        int rows = 64;
        int n = 32;
        SyntheticLayer layer = HeavyTailedLayer.create(9, rows, n);
        INDArray x = layer.calibration().dup();
        x.getColumn(3).assign(0);
        LayerStats stats = new LayerStats("dead", n, 64, 1);
        stats.accumulate("dead", x);
        ClaqTensor q = new Claq(ClaqParams.adaptive(2.5)).solve("dead", layer.weight(), stats);
        float[] out = q.dequantizeToArray();
        for (int r = 0; r < rows; r++) {
            assertThat(out[r * n + 3]).isZero();
        }
        assertThat(q.codebook(3)).containsOnly(0f);
    }

    @Test
    void badInputIsNamed() {
        Claq claq = new Claq(ClaqParams.fixed(2));
        INDArray nan = LAYER.weight().dup();
        nan.putScalar(3, 7, Float.NaN);
        assertThatThrownBy(() -> claq.solve("attn.q", nan, STATS)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("attn.q").hasMessageContaining("row 3, column 7");
        INDArray huge = LAYER.weight().dup();
        huge.putScalar(0, 0, 2 * Half.MAX);
        assertThatThrownBy(() -> claq.solve("attn.q", huge, STATS)).hasMessageContaining("FP16 range");
        assertThatThrownBy(() -> claq.solve("attn.q", LAYER.weight().getColumns(0, 1, 2), STATS))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("384 inputs");
        assertThatThrownBy(() -> claq.solve("attn.q", LAYER.weight(), null)).hasMessageContaining("calibration");
        assertThatThrownBy(() -> ClaqParams.adaptive(4.5)).hasMessageContaining("2..4");
        assertThatThrownBy(() -> ClaqParams.builder().mixedPrecision(4, 2, 0.5)).hasMessageContaining("low <= high");
    }
}
