package org.quant4j.qat.samediff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;

/**
 * What {@link SdOps} relies on in SameDiff 1.0.0-M2.1, measured: gradients of the ops against their known
 * derivatives or finite differences, rounding modes of {@code round}, the rounder and casts. Also pins the
 * platform bugs worked around ({@code rint} has no gradient; {@code div}'s gradient for a divisor broadcast over
 * the whole tensor is wrong): if an ND4J upgrade fixes them, these assertions say so.
 */
class SameDiffOpsProbeTest {
    private static final INDArray X = Nd4j.create(new double[] {-2.5, -1.5, -1.0, -0.7, -0.5, 0.2, 0.5, 1.0, 1.5, 3.7}, new long[] {2, 5});
    private static final INDArray C = Nd4j.create(new double[] {0.3, -1.1, 0.7, 2.0, -0.4, 1.3, 0.9, -0.6, 0.25, 1.7}, new long[] {2, 5});

    /** Gradient of {@code Σ C·f(x)} at X and the value of f(X). */
    private static INDArray[] gradient(BiFunction<SameDiff, SDVariable, SDVariable> f, DataType type) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.var("x", X.castTo(type));
        SDVariable fx = f.apply(sd, x);
        sd.setLossVariables(fx.mul(sd.constant(C.castTo(type))).sum());
        INDArray g = sd.calculateGradients(Map.of(), "x").get("x");
        return new INDArray[] {g, sd.output(Map.of(), fx.name()).get(fx.name())};
    }

    @Test
    void stopGradientClipRoundAndStraightThroughGradients() {
        INDArray[] sg = gradient((sd, x) -> x.mul(x).add(new StopGradient(sd, x).outputVariable().mul(3)), DataType.DOUBLE);
        assertThat(sg[0]).isEqualTo(X.mul(2).mul(C));
        INDArray[] clip = gradient((sd, x) -> sd.math().clipByValue(x, -1.0, 1.0), DataType.DOUBLE);
        // strictly inside: x = ±1 (on the bounds) get 0
        assertThat(clip[0]).isEqualTo(Nd4j.create(new double[] {0, 0, 0, 2.0, -0.4, 1.3, 0.9, 0, 0, 0}, new long[] {2, 5}));
        INDArray[] round = gradient((sd, x) -> sd.math().round(x), DataType.DOUBLE);
        assertThat(round[0].amaxNumber().doubleValue()).isZero();
        assertThat(round[1].getDouble(0, 0)).isEqualTo(-3.0); // half away from zero, not IntGrid's half to even
        assertThatThrownBy(() -> gradient((sd, x) -> new StopGradient(sd, new Rint(sd, x, false).outputVariable()).outputVariable(),
                DataType.DOUBLE)).isInstanceOf(UnsupportedOperationException.class);
        INDArray[] ste = gradient((sd, x) -> SdOps.straightThrough(sd, SdOps.rint(sd, x), x), DataType.FLOAT);
        assertThat(ste[0]).isEqualTo(C.castTo(DataType.FLOAT));
        assertThat(ste[1].dup('c').data().asFloat()).containsExactly(-2f, -2f, -1f, -1f, 0f, 0f, 0f, 1f, 2f, 4f); // half to even
    }

    @Test
    void divGradientIsWrongForAFullyBroadcastDivisorAndMulReciprocalIsRight() {
        double expected = -X.mul(C).sumNumber().doubleValue() / 0.49; // d/ds Σ c·x/s
        for (long[] shape : new long[][] {{}, {1, 1}}) {
            SameDiff sd = SameDiff.create();
            SDVariable x = sd.var("x", X.dup());
            SDVariable s = sd.var("s", Nd4j.valueArrayOf(shape, 0.7, DataType.DOUBLE));
            SDVariable c = sd.constant(C);
            SDVariable divLoss = x.div(s).mul(c).sum();
            SDVariable mulLoss = x.mul(sd.math().reciprocal(s)).mul(c).sum();
            sd.setLossVariables(divLoss);
            double div = sd.calculateGradients(Map.of(), "s").get("s").getDouble(0);
            assertThat(div).isNotCloseTo(expected, within(1.0)); // -Σc/s
            sd.setLossVariables(mulLoss);
            assertThat(sd.calculateGradients(Map.of(), "s").get("s").getDouble(0)).isCloseTo(expected, within(1e-9));
        }
        // a divisor broadcast along rows, as per-channel steps are: right (finite differences)
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.var("x", X.dup());
        SDVariable s = sd.var("s", Nd4j.create(new double[] {0.7, 1.3, -0.9, 2.1, 0.4}, new long[] {1, 5}));
        SDVariable loss = x.div(s).mul(s.mul(s)).mul(sd.constant(C)).sum();
        sd.setLossVariables(loss);
        INDArray g = sd.calculateGradients(Map.of(), "s").get("s");
        for (int j = 0; j < 5; j++) {
            double h = 1e-6;
            INDArray arr = s.getArr();
            double v = arr.getDouble(0, j);
            arr.putScalar(0, j, v + h);
            double lp = sd.output(Map.of(), loss.name()).get(loss.name()).getDouble(0);
            arr.putScalar(0, j, v - h);
            double lm = sd.output(Map.of(), loss.name()).get(loss.name()).getDouble(0);
            arr.putScalar(0, j, v);
            assertThat(g.getDouble(0, j)).isCloseTo((lp - lm) / (2 * h), within(1e-6));
        }
    }

    @Test
    void rounderAndCastsRoundLikeCore() {
        Random r = new Random(3);
        float[] v = new float[100_000];
        for (int i = 0; i < v.length; i++) v[i] = i % 3 == 0 ? (r.nextInt(400) - 200) * 0.5f : (float) (r.nextGaussian() * 100);
        SameDiff sd = SameDiff.create();
        SDVariable c = sd.constant("v", Nd4j.createFromArray(v));
        SDVariable rint = SdOps.rint(sd, c);
        SDVariable half = c.castTo(DataType.HALF).castTo(DataType.FLOAT);
        SDVariable bf16 = c.castTo(DataType.BFLOAT16).castTo(DataType.FLOAT);
        Map<String, INDArray> out = sd.output(Map.of(), rint.name(), half.name(), bf16.name());
        float[] gotRint = out.get(rint.name()).toFloatVector();
        float[] gotHalf = out.get(half.name()).toFloatVector();
        float[] gotBf16 = out.get(bf16.name()).toFloatVector();
        for (int i = 0; i < v.length; i++) {
            assertThat(gotRint[i]).isEqualTo((float) Math.rint(v[i]));
            assertThat(gotHalf[i]).isEqualTo(NumberEncodings.round(NumberEncoding.FP16, v[i]));
            assertThat(gotBf16[i]).isEqualTo(NumberEncodings.round(NumberEncoding.BF16, v[i]));
        }
        // in-graph round-up to the scale encodings equals core's NumberEncodings.roundUp
        float[] scales = new float[50_000];
        for (int i = 0; i < scales.length; i++) scales[i] = (float) Math.exp(r.nextGaussian() * 6 - 2);
        for (NumberEncoding e : new NumberEncoding[] {NumberEncoding.FP16, NumberEncoding.BF16}) {
            SameDiff s2 = SameDiff.create();
            SDVariable up = SdOps.roundUp(s2, s2.constant(Nd4j.createFromArray(scales)), e);
            float[] got = s2.output(Map.of(), up.name()).get(up.name()).toFloatVector();
            for (int i = 0; i < scales.length; i++) {
                if (scales[i] <= 65504f || e != NumberEncoding.FP16) {
                    assertThat(got[i]).as("%s %s", e, scales[i]).isEqualTo(NumberEncodings.roundUp(e, scales[i]));
                }
            }
        }
    }
}
