package org.quant4j.qat.samediff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.qat.ActivationGradient;
import org.quant4j.qat.WeightGradient;

/**
 * Forward values against core's IntGrid bit for bit, and gradients of {@code L = Σ c·q(·)} (random c) against
 * central finite differences. The LSQ gradient is by construction the derivative with the rounding passed
 * straight through, i.e. the derivative of the surrogate {@code S = Σ c·(clip(u, -Qn, Qp) + d)·s (+ β)} with the
 * rounding residue {@code d = ⌊clip(u)⌉ - clip(u)} frozen at the evaluation point; S is a smooth function of w, s
 * and β away from the clip bounds, so its finite differences measure eq. 3 (step), eq. 5 (clipped STE) and LSQ+'s
 * offset gradient, times the gradient scale g = 1/sqrt(N·Qp) for the step and offset.
 */
class SameDiffQatGradientTest {
    private static final double H = 1e-3;

    @Test
    void minMaxWeightsEqualIntGridBitForBitAndPassTheGradientStraightThrough() {
        Random r = new Random(5);
        int in = 33;
        int out = 96;
        float[] w = new float[in * out];
        for (int j = 0; j < out; j++) { // column magnitudes over many binades, one all-zero column
            double m = j == 7 ? 0 : Math.exp(Math.max(-9, Math.min(7, r.nextGaussian() * 4)));
            for (int i = 0; i < in; i++) w[i * out + j] = (float) (m * r.nextGaussian());
        }
        for (NumberEncoding e : new NumberEncoding[] {NumberEncoding.FP16, NumberEncoding.BF16, NumberEncoding.FP32}) {
            for (boolean symmetric : new boolean[] {true, false}) {
                for (int bits : new int[] {3, 4, 8}) {
                    for (Granularity gr : new Granularity[] {Granularity.perChannel(), Granularity.perTensor()}) {
                        QuantSpec spec = QuantSpec.builder().bits(bits).symmetric(symmetric).granularity(gr).scaleEncoding(e).build();
                        SameDiff sd = SameDiff.create();
                        SDVariable wv = sd.var("w", Nd4j.create(w, new long[] {in, out}, 'c'));
                        SDVariable q = SameDiffQat.of(sd).fakeQuantWeight(wv, spec, WeightGradient.STE);
                        float[] got = sd.output(Map.of(), q.name()).get(q.name()).dup('c').data().asFloat();
                        float[] expected = intGridColumns(w, in, out, spec);
                        for (int k = 0; k < w.length; k++) {
                            assertThat(got[k]).as("%s element %d", spec, k).isEqualTo(expected[k]);
                        }
                        // convert: core's Quantizer on the transposed weight dequantizes to the fake-quant values
                        QuantizedModel m = SameDiffQat.of(sd).convert();
                        INDArray deq = m.quantizedTensors().get("w").dequantize().transpose();
                        assertThat(deq.sub(Nd4j.create(got, new long[] {in, out}, 'c')).amaxNumber().doubleValue()).isZero();
                    }
                }
            }
        }
        // identity STE: dL/dw = c exactly
        SameDiff sd = SameDiff.create();
        SDVariable wv = sd.var("w", Nd4j.create(w, new long[] {in, out}, 'c'));
        INDArray c = Nd4j.rand(DataType.FLOAT, in, out).subi(0.5);
        SDVariable q = SameDiffQat.of(sd).fakeQuantWeight(wv, QuantSpec.integer(4, true, Granularity.perChannel()), WeightGradient.STE);
        sd.setLossVariables(q.mul(sd.constant(c)).sum());
        assertThat(sd.calculateGradients(Map.of(), "w").get("w")).isEqualTo(c);
    }

    /** IntGrid's fit and fake quantization of each column of a row-major [in, out] matrix (or of all of it). */
    private static float[] intGridColumns(float[] w, int in, int out, QuantSpec spec) {
        IntGrid grid = IntGrid.of(spec);
        float[] result = new float[w.length];
        float[] col = new float[in];
        float[] q = new float[in];
        IntGrid.Params all = grid.fit(w, 0, w.length);
        for (int j = 0; j < out; j++) {
            for (int i = 0; i < in; i++) col[i] = w[i * out + j];
            IntGrid.Params p = spec.granularity().kind() == Granularity.Kind.TENSOR ? all : grid.fit(col, 0, in);
            grid.fakeQuantize(col, 0, in, p, q, 0);
            for (int i = 0; i < in; i++) result[i * out + j] = q[i];
        }
        return result;
    }

    @Test
    void lsqWeightStepAndClippedSteMatchFiniteDifferencesWithGradientScale() {
        int in = 40;
        int out = 6;
        Random r = new Random(9);
        float[] w = new float[in * out];
        for (int k = 0; k < w.length; k++) w[k] = (float) r.nextGaussian();
        float[] c = new float[w.length];
        for (int k = 0; k < c.length; k++) c[k] = (float) (r.nextDouble() - 0.3);
        QuantSpec spec = QuantSpec.builder().bits(3).perChannel().scaleEncoding(NumberEncoding.FP32).build();
        SameDiff sd = SameDiff.create();
        SDVariable wv = sd.var("w", Nd4j.create(w, new long[] {in, out}, 'c'));
        SameDiffQat qat = SameDiffQat.of(sd);
        SDVariable q = qat.fakeQuantWeight(wv, spec, WeightGradient.LSQ);
        float qp = 3;
        float qn = 4;
        float[] init = sd.getVariable("w" + SameDiffQat.STEP_SUFFIX).getArr().dup('c').data().asFloat();
        for (int j = 0; j < out; j++) { // sec. 2.1 initialisation
            double meanAbs = 0;
            for (int i = 0; i < in; i++) meanAbs += Math.abs(w[i * out + j]);
            assertThat(init[j]).isCloseTo((float) (2 * meanAbs / in / Math.sqrt(qp)), within(1e-5f));
        }
        float[] s = new float[out];
        for (int j = 0; j < out; j++) s[j] = init[j] * 0.7f; // push some values past the bounds
        sd.getVariable("w" + SameDiffQat.STEP_SUFFIX).getArr().assign(Nd4j.create(s, new long[] {1, out}, 'c'));
        sd.setLossVariables(q.mul(sd.constant(Nd4j.create(c, new long[] {in, out}, 'c'))).sum());
        Map<String, INDArray> grads = sd.calculateGradients(Map.of(), "w", "w" + SameDiffQat.STEP_SUFFIX);
        float[] dw = grads.get("w").dup('c').data().asFloat();
        float[] ds = grads.get("w" + SameDiffQat.STEP_SUFFIX).dup('c').data().asFloat();
        double g = 1 / Math.sqrt(in * qp);
        int clipped = 0;
        for (int j = 0; j < out; j++) {
            final int col = j;
            double[] d = new double[in];
            for (int i = 0; i < in; i++) {
                double cu = Math.max(-qn, Math.min(qp, w[i * out + j] / (double) s[j]));
                d[i] = Math.rint(cu) - cu;
            }
            DoubleUnaryOperator surrogate = sv -> {
                double sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += c[i * out + col] * (Math.max(-qn, Math.min(qp, w[i * out + col] / sv)) + d[i]) * sv;
                }
                return sum;
            };
            double fd = (surrogate.applyAsDouble(s[j] * (1 + H)) - surrogate.applyAsDouble(s[j] * (1 - H))) / (2 * H * s[j]);
            assertThat((double) ds[j]).as("step %d", j).isCloseTo(g * fd, within(1e-4 * Math.max(1, Math.abs(g * fd))));
            for (int i = 0; i < in; i++) {
                double u = w[i * out + j] / (double) s[j];
                double fdw = Math.abs(u + qn) < 1e-2 || Math.abs(u - qp) < 1e-2 ? dw[i * out + j] // at a bound: no FD
                        : (u > -qn && u < qp ? c[i * out + j] : 0.0);
                if (!(u > -qn && u < qp)) clipped++;
                assertThat((double) dw[i * out + j]).isCloseTo(fdw, within(1e-5));
            }
        }
        assertThat(clipped).isGreaterThan(5);
        // converted codes reproduce the fake-quantized weight
        INDArray fq = sd.output(Map.of(), q.name()).get(q.name());
        INDArray deq = qat.convert().quantizedTensors().get("w").dequantize().transpose();
        assertThat(deq.sub(fq).amaxNumber().doubleValue()).isZero();
    }

    @Test
    void lsqPlusActivationStepOffsetAndInputGradientsMatchFiniteDifferences() {
        int batch = 8;
        int features = 30;
        Random r = new Random(13);
        float[] a = new float[batch * features];
        for (int k = 0; k < a.length; k++) a[k] = (float) (r.nextGaussian() * 2 + 0.5);
        float[] c = new float[a.length];
        for (int k = 0; k < c.length; k++) c[k] = (float) (r.nextDouble() - 0.3);
        QuantSpec spec = QuantSpec.builder().bits(3).asymmetric().perTensor().scaleEncoding(NumberEncoding.FP32).build();
        SameDiff sd = SameDiff.create();
        SDVariable in = sd.placeHolder("in", DataType.FLOAT, -1, features);
        SameDiffQat qat = SameDiffQat.of(sd);
        SDVariable x = sd.var("x", Nd4j.ones(DataType.FLOAT, 1, features)); // dL/dx = Σ_batch in·∂L/∂a
        SDVariable act = sd.identity("act", in.mul(x));
        SDVariable q = qat.fakeQuantActivation(act, spec, ActivationGradient.LSQ_PLUS);
        Map<String, INDArray> ph = Map.of("in", Nd4j.create(a, new long[] {batch, features}, 'c'));
        qat.initializeActivations(ph);
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : a) { min = Math.min(min, v); max = Math.max(max, v); }
        assertThat(sd.getVariable("act" + SameDiffQat.OFFSET_SUFFIX).getArr().getFloat(0)).isEqualTo(min);
        assertThat(sd.getVariable("act" + SameDiffQat.STEP_SUFFIX).getArr().getFloat(0)).isEqualTo((max - min) / 7);
        float s = (max - min) / 7 * 0.6f;
        float beta = min + 0.4f;
        sd.getVariable("act" + SameDiffQat.STEP_SUFFIX).getArr().assign(s);
        sd.getVariable("act" + SameDiffQat.OFFSET_SUFFIX).getArr().assign(beta);
        sd.setLossVariables(q.mul(sd.constant(Nd4j.create(c, new long[] {batch, features}, 'c'))).sum());
        Map<String, INDArray> grads = sd.calculateGradients(ph, "x", "act" + SameDiffQat.STEP_SUFFIX, "act" + SameDiffQat.OFFSET_SUFFIX);
        double qp = 7;
        double[] d = new double[a.length];
        for (int k = 0; k < a.length; k++) {
            double cu = Math.max(0, Math.min(qp, (a[k] - beta) / (double) s));
            d[k] = Math.rint(cu) - cu;
        }
        java.util.function.DoubleBinaryOperator surrogate = (sv, bv) -> {
            double sum = 0;
            for (int k = 0; k < a.length; k++) {
                sum += c[k] * ((Math.max(0, Math.min(qp, (a[k] - bv) / sv)) + d[k]) * sv + bv);
            }
            return sum;
        };
        double g = 1 / Math.sqrt(features * qp); // N = features per example
        double fdS = (surrogate.applyAsDouble(s * (1 + H), beta) - surrogate.applyAsDouble(s * (1 - H), beta)) / (2 * H * s);
        double fdB = (surrogate.applyAsDouble(s, beta + H) - surrogate.applyAsDouble(s, beta - H)) / (2 * H);
        assertThat(grads.get("act" + SameDiffQat.STEP_SUFFIX).getDouble(0)).isCloseTo(g * fdS, within(1e-4 * Math.max(1, Math.abs(g * fdS))));
        assertThat(grads.get("act" + SameDiffQat.OFFSET_SUFFIX).getDouble(0)).isCloseTo(g * fdB, within(1e-4 * Math.max(1, Math.abs(g * fdB))));
        assertThat(Math.abs(fdB)).isGreaterThan(0.1); // values outside the range on both sides
        float[] dx = grads.get("x").dup('c').data().asFloat();
        for (int f = 0; f < features; f++) { // clipped STE: the FD of S in a is c inside, 0 outside
            double expected = 0;
            for (int b = 0; b < batch; b++) {
                double u = (a[b * features + f] - beta) / s;
                if (u > 0 && u < qp) expected += c[b * features + f] * a[b * features + f];
            }
            assertThat((double) dx[f]).isCloseTo(expected, within(1e-4));
        }
        // the stored grid reproduces the forward values
        INDArray fq = sd.output(ph, q.name()).get(q.name());
        float[] grid = qat.convert().floatTensors().get("act" + SameDiffQat.ACTIVATION_SUFFIX).data();
        assertThat(grid).containsExactly(s, 0f, beta);
        IntGrid ig = IntGrid.of(spec);
        float[] got = fq.dup('c').data().asFloat();
        for (int k = 0; k < a.length; k++) {
            assertThat(got[k]).isEqualTo(ig.fakeQuantize(a[k] - beta, s, 0f) + beta);
        }
    }

    @Test
    void badInputIsRefusedNamingTheVariable() {
        SameDiff sd = SameDiff.create();
        SameDiffQat qat = SameDiffQat.of(sd);
        assertThat(SameDiffQat.of(sd)).isSameAs(qat);
        SDVariable w = sd.var("dense_w", Nd4j.rand(DataType.FLOAT, 4, 3));
        SDVariable w3 = sd.var("w3", Nd4j.rand(DataType.FLOAT, 4, 3, 2));
        SDVariable in = sd.placeHolder("in", DataType.FLOAT, -1, 4);
        QuantSpec int4 = QuantSpec.integer(4, true, Granularity.perChannel());
        assertThatThrownBy(() -> qat.fakeQuantWeight(w, QuantSpec.nf4(false), WeightGradient.LSQ))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("dense_w").hasMessageContaining("nf4");
        assertThatThrownBy(() -> qat.fakeQuantWeight(w, QuantSpec.fp8E4M3(), WeightGradient.STE))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("dense_w");
        assertThatThrownBy(() -> qat.fakeQuantWeight(w, QuantSpec.integer(4, false, Granularity.perChannel()), WeightGradient.LSQ))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("symmetric");
        assertThatThrownBy(() -> qat.fakeQuantWeight(w, QuantSpec.integer(4, true, Granularity.perGroup(2)), WeightGradient.STE))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("groups");
        assertThatThrownBy(() -> qat.fakeQuantWeight(w3, int4, WeightGradient.STE))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("w3");
        assertThatThrownBy(() -> qat.fakeQuantWeight(w, int4, WeightGradient.STE, SdWeightLayout.CONV2D_YXIO))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("dense_w");
        assertThatThrownBy(() -> qat.fakeQuantWeight(in, int4, WeightGradient.STE))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("'in'").hasMessageContaining("not a weight");
        assertThatThrownBy(() -> qat.fakeQuantWeight(in.mmul(w), int4, WeightGradient.STE))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("not a weight");
        qat.fakeQuantWeight(w, int4, WeightGradient.STE);
        assertThatThrownBy(() -> qat.fakeQuantWeight(w, int4, WeightGradient.STE))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("twice");
        SDVariable h = sd.identity("h", in.mmul(w));
        assertThatThrownBy(() -> qat.fakeQuantActivation(h, QuantSpec.integer(8, false, Granularity.perTensor()), ActivationGradient.CLIPPED_STE))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("'h'");
        assertThatThrownBy(() -> qat.fakeQuantActivation(h, QuantSpec.integer(8, true, Granularity.perTensor()), ActivationGradient.LSQ_PLUS))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("'h'");
        assertThatThrownBy(() -> qat.fakeQuantActivation(h, QuantSpec.integer(8, true, Granularity.perChannel()), ActivationGradient.LSQ))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("per tensor");
        qat.fakeQuantActivation(h, QuantSpec.integer(8, false, Granularity.perTensor()), ActivationGradient.LSQ);
        assertThatThrownBy(qat::convert).hasMessageContaining("'h'").hasMessageContaining("initialis");
    }
}
