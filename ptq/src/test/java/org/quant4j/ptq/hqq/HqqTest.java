package org.quant4j.ptq.hqq;

import org.quant4j.ptq.RealisticWeights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.ptq.hqq.HqqParams;
import org.quant4j.ptq.hqq.HqqResult;

class HqqTest {
    private static final int ROWS = 256;
    private static final int COLS = 512;
    private static final long[] SHAPE = {ROWS, COLS};
    private static final double P = HqqParams.DEFAULTS.lpNorm();

    private static QuantSpec spec(int bits, NumberEncoding zeros) {
        return QuantSpec.builder().bits(bits).asymmetric().groupSize(64).zeroEncoding(zeros).build();
    }

    private static float[] weights(long seed) {
        return RealisticWeights.generate(ROWS, COLS, seed);
    }

    /** {@code Σ|W − Ŵ|^p / n}: the error HQQ's φ measures. */
    private static double lpError(float[] w, float[] q, double p) {
        double sum = 0;
        for (int i = 0; i < w.length; i++) {
            sum += Math.pow(Math.abs(w[i] - q[i]), p);
        }
        return sum / w.length;
    }

    private static double meanAbsError(float[] w, float[] q) {
        return lpError(w, q, 1);
    }

    /** {@code ‖WX − ŴX‖² / ‖WX‖²} for Gaussian inputs X of 256 samples. */
    private static double outputError(float[] w, float[] q, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[COLS * 256];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) RealisticWeights.gaussian(random);
        }
        INDArray inputs = Nd4j.create(x, new long[] {COLS, 256}, 'c');
        INDArray exact = Nd4j.create(w, SHAPE, 'c').mmul(inputs);
        INDArray approx = Nd4j.create(q, SHAPE, 'c').mmul(inputs);
        double num = exact.sub(approx).norm2Number().doubleValue();
        double den = exact.norm2Number().doubleValue();
        return num * num / (den * den);
    }

    @ParameterizedTest(name = "{0} bits")
    @ValueSource(ints = {4, 3, 2})
    void lpAndOutputErrorsAreBelowRoundToNearest(int bits) {
        float[] w = weights(bits);
        QuantSpec spec = spec(bits, NumberEncoding.FP16);
        float[] rtn = Quantizer.quantize("layer", w, SHAPE, spec).dequantizeToArray();
        float[] hqq = new Hqq().solve("layer", w, SHAPE, spec).tensor().dequantizeToArray();
        float[] hqqScale = new Hqq(HqqParams.DEFAULTS.withOptimizeScale(true)).solve("layer", w, SHAPE, spec)
                .tensor().dequantizeToArray();

        double rtnLp = lpError(w, rtn, P);
        // at 4 bits the reference starts from a rounded zero point (round_zero), which leaves less to gain: measured
        // 0.65% below RTN on this layer (1.4% with the unrounded start used before)
        assertThat(lpError(w, hqq, P)).isLessThan((bits == 4 ? 1 : 0.99) * rtnLp);
        assertThat(lpError(w, hqqScale, P)).isLessThan(0.99 * rtnLp);
        double rtnOut = outputError(w, rtn, 7);
        assertThat(outputError(w, hqq, 7)).isLessThan(0.97 * rtnOut);
        assertThat(outputError(w, hqqScale, 7)).isLessThan(0.97 * rtnOut);
    }

    @Test
    void perChannelGroupsAlsoBeatRoundToNearest() {
        float[] w = weights(11);
        QuantSpec spec = QuantSpec.builder().bits(3).asymmetric().perChannel().zeroEncoding(NumberEncoding.FP16).build();
        float[] rtn = Quantizer.quantize("layer", w, SHAPE, spec).dequantizeToArray();
        float[] hqq = new Hqq().solve("layer", w, SHAPE, spec).tensor().dequantizeToArray();
        assertThat(lpError(w, hqq, P)).isLessThan(lpError(w, rtn, P));
        assertThat(outputError(w, hqq, 3)).isLessThan(outputError(w, rtn, 3));
    }

    @Test
    void storedTensorDequantizesToTheOptimizersReconstructionAndReportedError() {
        float[] w = weights(5);
        Hqq.Solution solution = new Hqq().solve("layer", w, SHAPE, spec(4, NumberEncoding.FP16));
        HqqResult r = solution.result();
        float[] dequantized = solution.tensor().dequantizeToArray();
        byte[] codes = r.codes();
        int g = r.blockLength();
        for (int i = 0; i < w.length; i++) {
            float s = r.scales()[i / g];
            float z = r.zeros()[i / g];
            assertThat(dequantized[i]).isEqualTo(((codes[i] & 0xFF) - z) * s);
        }
        assertThat(solution.tensor().scales().values()).isEqualTo(r.scales());
        assertThat(solution.tensor().zeros().values()).isEqualTo(r.zeros());
        assertThat(meanAbsError(w, dequantized)).isCloseTo(r.error(), org.assertj.core.data.Offset.offset(1e-9 * r.error()));
    }

    @Test
    void iterationDecreasesTheErrorUntilTheEarlyStop() {
        float[] w = weights(9);
        QuantSpec spec = spec(3, NumberEncoding.FP16);
        HqqParams keepBest = HqqParams.DEFAULTS.withKeepBest(true);
        HqqResult stopped = new Hqq(keepBest).solve("layer", w, SHAPE, spec).result();
        HqqResult full = new Hqq(keepBest.withEarlyStop(false)).solve("layer", w, SHAPE, spec).result();
        double[] h = stopped.errorHistory();
        double[] all = full.errorHistory();
        assertThat(all).hasSize(20);

        int firstNonDecrease = 1;
        while (firstNonDecrease < all.length && all[firstNonDecrease] < all[firstNonDecrease - 1]) {
            firstNonDecrease++;
        }
        assertThat(firstNonDecrease).as("the solver improves for several iterations").isGreaterThanOrEqualTo(5);
        int expectedLength = Math.min(all.length, firstNonDecrease + 1);
        assertThat(h).hasSize(expectedLength);
        for (int t = 0; t < h.length; t++) {
            assertThat(h[t]).as("iterate %d is the same with and without early stop", t).isEqualTo(all[t]);
        }
        for (int t = 1; t < firstNonDecrease; t++) {
            assertThat(h[t]).isLessThan(h[t - 1]);
        }
        assertThat(stopped.bestIteration()).isEqualTo(firstNonDecrease - 1);
        assertThat(stopped.error()).isEqualTo(min(h));
        assertThat(full.error()).isEqualTo(min(all)).isLessThanOrEqualTo(stopped.error());
    }

    /**
     * The reference's default solver ({@code optimize_weights_proximal_legacy}) returns the zero point updated from
     * the last evaluated iterate: the same iterates, one more update, whose error is measured and reported.
     */
    @Test
    void byDefaultTheUpdateAfterTheLastEvaluatedIterateIsReturnedWithItsMeasuredError() {
        float[] w = weights(9);
        for (boolean earlyStop : new boolean[] {true, false}) {
            QuantSpec spec = spec(3, NumberEncoding.FP16);
            HqqParams legacy = HqqParams.DEFAULTS.withEarlyStop(earlyStop);
            Hqq.Solution solution = new Hqq(legacy).solve("layer", w, SHAPE, spec);
            HqqResult r = solution.result();
            HqqResult best = new Hqq(legacy.withKeepBest(true)).solve("layer", w, SHAPE, spec).result();
            double[] h = r.errorHistory();
            double[] evaluated = best.errorHistory();
            assertThat(h).hasSize(evaluated.length + 1);
            for (int t = 0; t < evaluated.length; t++) {
                assertThat(h[t]).as("iterate %d", t).isEqualTo(evaluated[t]);
            }
            assertThat(r.bestIteration()).isEqualTo(evaluated.length);
            assertThat(r.error()).isEqualTo(h[evaluated.length])
                    .isCloseTo(meanAbsError(w, solution.tensor().dequantizeToArray()),
                            org.assertj.core.data.Offset.offset(1e-9 * r.error()));
        }
    }

    private static double min(double[] values) {
        double m = Double.POSITIVE_INFINITY;
        for (double v : values) {
            m = Math.min(m, v);
        }
        return m;
    }

    @Test
    void integerZeroPointsStartFromRoundToNearestAndTheBestIterateIsNeverWorse() {
        float[] w = weights(13);
        QuantSpec spec = spec(3, NumberEncoding.UINT);
        Hqq.Solution solution = new Hqq(HqqParams.DEFAULTS.withKeepBest(true)).solve("layer", w, SHAPE, spec);
        float[] rtn = Quantizer.quantize("layer", w, SHAPE, spec).dequantizeToArray();
        double rtnError = meanAbsError(w, rtn);
        double[] history = solution.result().errorHistory();
        assertThat(history[0]).isCloseTo(rtnError, org.assertj.core.data.Offset.offset(1e-9 * rtnError));
        assertThat(solution.result().error()).isLessThanOrEqualTo(history[0]);
        for (float z : solution.tensor().zeros().values()) {
            assertThat(z).isBetween(0f, 7f).isEqualTo((float) Math.rint(z));
        }
        float[] hqq = solution.tensor().dequantizeToArray();
        assertThat(meanAbsError(w, hqq)).isLessThanOrEqualTo(rtnError * (1 + 1e-9));
    }

    @Test
    void withIntegerZeroPointsTheSolutionSaysHowOftenTheZeroMoved() {
        float[] w = weights(13);
        org.nd4j.linalg.api.ndarray.INDArray a = org.nd4j.linalg.factory.Nd4j.create(w, SHAPE, 'c');
        String uint = new Hqq().quantize("layer", a, null, spec(3, NumberEncoding.UINT)).note();
        assertThat(uint).containsPattern("the zero moved in \\d+ of \\d+ groups").contains("FP16 zero points");
        assertThat(new Hqq().quantize("layer", a, null, spec(3, NumberEncoding.FP16)).note()).isEmpty();
    }

    @Test
    void constantAndZeroRowsAreReconstructed() {
        float[] w = new float[2 * 128];
        java.util.Arrays.fill(w, 0, 128, 0.7f);
        long[] shape = {2, 128};
        float[] q = new Hqq().solve("layer", w, shape, spec(2, NumberEncoding.FP16)).tensor().dequantizeToArray();
        for (int i = 0; i < 128; i++) {
            assertThat(q[i]).isCloseTo(0.7f, org.assertj.core.data.Offset.offset(0.7f * 0x1p-10f));
            assertThat(q[128 + i]).isZero();
        }
    }

    @Test
    void sameInputGivesTheSameBytesWhateverTheThreadCount() throws Exception {
        float[] w = RealisticWeights.generate(512, 1024, 21); // several slices
        long[] shape = {512, 1024};
        QuantSpec spec = spec(4, NumberEncoding.FP16);
        QuantizedTensor first = new Hqq().solve("layer", w, shape, spec).tensor();
        QuantizedTensor second = new Hqq().solve("layer", w.clone(), shape, spec).tensor();
        ForkJoinPool single = new ForkJoinPool(1);
        try {
            QuantizedTensor oneThread = single.submit(() -> new Hqq().solve("layer", w, shape, spec).tensor()).get();
            assertThat(oneThread).isEqualTo(first);
        } finally {
            single.shutdown();
        }
        assertThat(second).isEqualTo(first);
    }

    @Test
    void solvesAnNd4jWeightWithoutStatistics() {
        float[] w = weights(17);
        INDArray array = Nd4j.create(w, SHAPE, 'c').castTo(DataType.DOUBLE);
        Hqq hqq = new Hqq();
        QuantizedTensor t = hqq.solve("dense_1", array, null, spec(4, NumberEncoding.FP16));
        assertThat(hqq.name()).isEqualTo("hqq");
        assertThat(hqq.needsCalibration()).isFalse();
        assertThat(t.shape()).isEqualTo(SHAPE);
        assertThat(t).isEqualTo(hqq.solve("dense_1", w, SHAPE, spec(4, NumberEncoding.FP16)).tensor());
    }

    @Test
    void badInputNamesTheLayer() {
        float[] w = weights(1);
        w[ROWS * COLS / 2 + 3] = Float.NaN;
        assertThatThrownBy(() -> new Hqq().solve("blocks.3.mlp", w, SHAPE, spec(4, NumberEncoding.FP16)))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("blocks.3.mlp").hasMessageContaining("NaN").hasMessageContaining("row 128");

        float[] narrow = new float[4 * 96];
        assertThatThrownBy(() -> new Hqq().solve("proj", narrow, new long[] {4, 96}, spec(4, NumberEncoding.FP16)))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("proj").hasMessageContaining("group size 64").hasMessageContaining("96");

        QuantSpec symmetric = QuantSpec.integer(4, true, org.quant4j.core.Granularity.perGroup(64));
        assertThatThrownBy(() -> new Hqq().solve("proj", weights(2), SHAPE, symmetric))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("proj").hasMessageContaining("symmetric");

        assertThatThrownBy(() -> new Hqq().solve("proj", weights(2), SHAPE, QuantSpec.nf4(false)))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("proj").hasMessageContaining("NF4");
    }

    @Test
    void scalesBeyondTheEncodingAreReportedWithTheirBlock() {
        float[] w = new float[2 * 64];
        w[64 + 5] = 3e38f;
        w[64 + 6] = -3e38f;
        assertThatThrownBy(() -> new Hqq().solve("huge", w, new long[] {2, 64}, spec(4, NumberEncoding.FP16)))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("huge").hasMessageContaining("row 1").hasMessageContaining("FP16");
    }

    @Test
    void rejectsImpossibleSettings() {
        assertThatThrownBy(() -> HqqParams.DEFAULTS.withLpNorm(1.5)).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("lp-norm");
        assertThatThrownBy(() -> HqqParams.DEFAULTS.withIterations(0)).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("iteration");
        assertThatThrownBy(() -> new HqqParams(0.7, -1, 1.01, 20, true, false, false)).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("beta");
        assertThatThrownBy(() -> new HqqParams(0.7, 10, 0.5, 20, true, false, false)).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("kappa");
    }
}
