package org.quant4j.ptq.awq;

import org.quant4j.model.AwqFolding;
import org.quant4j.ptq.SyntheticLayer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.InvalidTensorException;

/** Folding AWQ's 1/s into the op before the scaled layers leaves the float model's function unchanged. */
class AwqFoldingTest {
    private static final int TOKENS = 64;
    private static final int HIDDEN = 96;
    private static final int OUT = 80;

    /** Scales spread over three orders of magnitude, like {@code s_x^α} with outlier channels. */
    private static float[] scales(Random random, int n) {
        float[] s = new float[n];
        for (int c = 0; c < n; c++) {
            s[c] = (float) Math.pow(10, 3 * random.nextDouble() - 1.5);
        }
        return s;
    }

    private static INDArray gaussian(Random random, long... shape) {
        float[] v = SyntheticLayer.gaussian(random, (int) (shape[0] * shape[1]), 1f);
        return Nd4j.create(v, shape, DataType.FLOAT);
    }

    /** {@code γ∘(x − mean)/sqrt(var + 1e-12) + β} per row. */
    private static INDArray layerNorm(INDArray x, INDArray gamma, INDArray beta) {
        INDArray mean = x.mean(1).reshape(x.rows(), 1);
        INDArray centered = x.subColumnVector(mean);
        INDArray std = Transforms.sqrt(centered.mul(centered).mean(1).addi(1e-12)).reshape(x.rows(), 1);
        return centered.diviColumnVector(std).muliRowVector(gamma.reshape(1, -1)).addiRowVector(beta.reshape(1, -1));
    }

    private static double maxRelativeDifference(INDArray expected, INDArray actual) {
        double scale = expected.amaxNumber().doubleValue();
        return expected.sub(actual).amaxNumber().doubleValue() / scale;
    }

    @Test
    void layerNormFoldKeepsTheFunction() {
        Random random = new Random(1);
        INDArray x = gaussian(random, TOKENS, HIDDEN).muli(3).addi(0.5);
        INDArray gamma = gaussian(random, 1, HIDDEN).reshape(HIDDEN).addi(1);
        INDArray beta = gaussian(random, 1, HIDDEN).reshape(HIDDEN).muli(0.1);
        INDArray w = gaussian(random, OUT, HIDDEN).muli(0.05);
        float[] s = scales(random, HIDDEN);

        INDArray reference = layerNorm(x, gamma, beta).mmul(w.transpose());
        AwqFolding.LayerNormParams folded = AwqFolding.foldIntoLayerNorm(gamma, beta, s);
        INDArray scaledW = AwqFolding.scaleColumns(w, s);
        INDArray result = layerNorm(x, folded.gamma(), folded.beta()).mmul(scaledW.transpose());

        assertThat(maxRelativeDifference(reference, result)).isLessThan(1e-5);
        assertThat(folded.gamma().shape()).isEqualTo(gamma.shape());
        assertThat(gamma.getFloat(0)).as("arguments unchanged").isEqualTo(layerNormGammaCopy(random)[0]);
    }

    private static float[] layerNormGammaCopy(Random ignored) {
        Random again = new Random(1);
        gaussian(again, TOKENS, HIDDEN);
        return gaussian(again, 1, HIDDEN).reshape(HIDDEN).addi(1).toFloatVector();
    }

    @Test
    void previousLinearFoldKeepsTheFunctionThroughATokenMix() {
        Random random = new Random(2);
        INDArray x = gaussian(random, TOKENS, HIDDEN);
        INDArray wv = gaussian(random, HIDDEN, HIDDEN).muli(0.1); // V: produces the scaled layer's input channels
        INDArray bv = gaussian(random, 1, HIDDEN).reshape(HIDDEN).muli(0.1);
        INDArray wo = gaussian(random, OUT, HIDDEN).muli(0.1);    // O: the scaled layer
        INDArray attention = Transforms.softmax(gaussian(random, TOKENS, TOKENS), true); // linear in V
        float[] s = scales(random, HIDDEN);

        INDArray reference = attention.mmul(x.mmul(wv.transpose()).addiRowVector(bv.reshape(1, -1))).mmul(wo.transpose());
        AwqFolding.LinearParams folded = AwqFolding.foldIntoPreviousLinear(wv, bv, s);
        INDArray v = x.mmul(folded.weight().transpose()).addiRowVector(folded.bias().reshape(1, -1));
        INDArray result = attention.mmul(v).mmul(AwqFolding.scaleColumns(wo, s).transpose());

        assertThat(maxRelativeDifference(reference, result)).isLessThan(1e-5);
        assertThat(AwqFolding.foldIntoPreviousLinear(wv, null, s).bias()).isNull();
    }

    @Test
    void scaledColumnsAreColumnsTimesScales() {
        INDArray w = Nd4j.create(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, DataType.FLOAT);
        INDArray scaled = AwqFolding.scaleColumns(w, new float[] {2, 0.5f, 10});
        assertThat(scaled.data().asFloat()).containsExactly(2, 1, 30, 8, 2.5f, 60);
        assertThat(w.data().asFloat()).containsExactly(1, 2, 3, 4, 5, 6);
    }

    @Test
    void mismatchedOrInvalidScalesAreRejected() {
        INDArray w = Nd4j.zeros(DataType.FLOAT, 4, 3);
        assertThatThrownBy(() -> AwqFolding.scaleColumns(w, new float[] {1, 1})).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("2 scales");
        assertThatThrownBy(() -> AwqFolding.scaleColumns(w, new float[] {1, 0, 1})).hasMessageContaining("input scale 1");
        assertThatThrownBy(() -> AwqFolding.foldIntoLayerNorm(Nd4j.ones(3), Nd4j.ones(4), new float[] {1, 1, 1}))
                .hasMessageContaining("beta");
        assertThatThrownBy(() -> AwqFolding.foldIntoPreviousLinear(w, Nd4j.ones(3), new float[] {1, 1, 1, 1}))
                .hasMessageContaining("bias");
    }
}
