package org.quant4j.ptq.awq;

import org.quant4j.model.AwqFolding;
import org.quant4j.ptq.HeavyTailedLayer;
import org.quant4j.ptq.OutputError;
import org.quant4j.ptq.RealisticWeights;
import org.quant4j.ptq.SyntheticLayer;
import org.quant4j.ptq.rtn.Rtn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/** AWQ on transformer-like layers: quality against RTN, the search's choices, the scaled-tensor contract. */
class AwqTest {
    static final int OUT = 512;
    static final int IN = 384;
    /** The synthetic layer and its statistics, shared with {@link AwqGptqTest}. */
    static final SyntheticLayer LAYER = HeavyTailedLayer.create(1, OUT, IN);
    static final LayerStats STATS = LAYER.stats("fc");

    static QuantSpec g128(int bits) {
        return QuantSpec.builder().bits(bits).asymmetric().groupSize(128).build();
    }

    static double heldOutError(Awq awq, QuantSpec spec) {
        return LAYER.relativeOutputError(awq.solveScaled("fc", LAYER.weight(), STATS, spec).effectiveWeightArray());
    }

    @ParameterizedTest(name = "int{0} asym g128")
    @ValueSource(ints = {4, 3})
    void awqLowersTheOutputErrorOfRoundToNearest(int bits) {
        QuantSpec spec = g128(bits);
        double rtn = LAYER.relativeOutputError(new Rtn().solve("fc", LAYER.weight(), null, spec).dequantize());
        double duo = heldOutError(new Awq(), spec);
        double paper = heldOutError(new Awq(new AwqScaleSearch(20, false), new AwqClipSearch(), true, 512), spec);
        double duoNoClip = heldOutError(new Awq(new AwqScaleSearch(), new AwqClipSearch(), false, 512), spec);
        System.out.printf("%s on %dx%d, held-out relative output error: RTN %.5f | AWQ duo scaling %.5f | AWQ paper"
                + " scaling s_x^a %.5f | AWQ duo without clip search %.5f%n", spec, OUT, IN, rtn, duo, paper, duoNoClip);
        assertThat(duo).isLessThan(0.8 * rtn);
        assertThat(paper).isLessThan(0.8 * rtn);
        assertThat(duo).as("the clip search helps on held-out rows").isLessThan(duoNoClip);
    }

    @Test
    void theSearchReturnsTheLowestLossItSaw() {
        INDArray x = STATS.sampleRows();
        AwqLoss loss = AwqLoss.outputError(x, List.of(LAYER.weight()));
        AwqScaleSearch.Result r = new AwqScaleSearch().search("fc", List.of(LAYER.weight()), STATS.meanAbs(), g128(4), loss);
        double min = r.unscaledLoss();
        for (double l : r.lossByPoint()) {
            min = Math.min(min, l);
        }
        assertThat(r.loss()).isEqualTo(min);
        assertThat(r.lossByPoint()).hasSize(20);
        assertThat(r.gridPoint()).isBetween(1, 19);
        assertThat(r.alpha()).isEqualTo(r.gridPoint() / 20.0);
        float max = 0;
        float smallest = Float.MAX_VALUE;
        for (float s : r.scales()) {
            max = Math.max(max, s);
            smallest = Math.min(smallest, s);
        }
        assertThat((double) max * smallest).as("normalised by sqrt(max·min)").isCloseTo(1, org.assertj.core.data.Offset.offset(1e-4));
        AwqGrid grid = AwqGrid.of("fc", g128(4), OUT, IN);
        INDArray candidate = Nd4j.create(grid.fakeQuantizeScaled(LAYER.weight().data().asFloat(), r.scales()),
                new long[] {OUT, IN}, 'c');
        assertThat(loss.evaluate(List.of(candidate))).as("the loss of the returned scales").isEqualTo(r.loss());
    }

    @Test
    void scalesFollowThePaperAndTheDuoFormula() {
        float[] xMean = {1f, 4f, 0.25f};
        float[] wMean = {0.5f, 0.5f, 0.1f};
        assertThat(new AwqScaleSearch(20, false).scales(xMean, wMean, 0)).containsExactly(1f, 1f, 1f);
        float[] paper = new AwqScaleSearch(20, false).scales(xMean, wMean, 0.5);
        assertThat(paper).containsExactly(1f, 2f, 0.5f); // sqrt(x) = 1, 2, 0.5; sqrt(max·min) = 1
        float[] duo = new AwqScaleSearch(20, true).scales(xMean, wMean, 0.5);
        double[] raw = new double[3];
        for (int c = 0; c < 3; c++) {
            raw[c] = Math.sqrt(xMean[c]) / (Math.sqrt(wMean[c]) + 1e-4);
        }
        double norm = Math.sqrt(Math.max(raw[0], Math.max(raw[1], raw[2])) * Math.min(raw[0], Math.min(raw[1], raw[2])));
        for (int c = 0; c < 3; c++) {
            assertThat((double) duo[c]).isCloseTo(raw[c] / norm, org.assertj.core.data.Percentage.withPercentage(1e-4));
        }
    }

    @Test
    void solveStoresTheScaledWeightWhoseInputMustBeDividedByTheScales() {
        QuantSpec spec = g128(4);
        Awq awq = new Awq();
        InputScaledTensor scaled = awq.solveScaled("fc", LAYER.weight(), STATS, spec);
        QuantizedTensor plain = awq.solve("fc", LAYER.weight(), STATS, spec);
        assertThat(plain).isEqualTo(scaled.tensor());
        INDArray scaledWeight = AwqFolding.scaleColumns(LAYER.weight(), scaled.inputScales());
        INDArray xOverS = LAYER.heldOut().divRowVector(Nd4j.create(scaled.inputScales(), new long[] {1, IN}, 'c'));
        double stored = OutputError.relative(scaledWeight, plain.dequantize(), xOverS);
        double misread = LAYER.relativeOutputError(plain.dequantize());
        double effective = LAYER.relativeOutputError(scaled.effectiveWeightArray());
        assertThat(stored).as("dequantize() approximates W·diag(s) on inputs x/s").isLessThan(0.02);
        assertThat(effective).isCloseTo(stored, org.assertj.core.data.Percentage.withPercentage(0.1));
        assertThat(misread).as("read as W it is wrong").isGreaterThan(5 * stored);
    }

    @Test
    void aScaledGroupSharesItsScalesAndQuantizesTheFoldedModel() {
        int hidden = 256;
        SyntheticLayer q = HeavyTailedLayer.create(11, 256, hidden);
        INDArray k = Nd4j.create(RealisticWeights.generate(256, hidden, 12), new long[] {256, hidden}, DataType.FLOAT);
        INDArray v = Nd4j.create(RealisticWeights.generate(128, hidden, 13), new long[] {128, hidden}, DataType.FLOAT);
        INDArray x = q.calibration().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 256),
                org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
        INDArray reference = attention(x, q.weight(), k, v);
        List<Awq.AwqLayer> layers = List.of(new Awq.AwqLayer("q", q.weight(), false), new Awq.AwqLayer("k", k, false),
                new Awq.AwqLayer("v", v, true));
        List<Integer> calls = new ArrayList<>();
        AwqLoss attentionLike = candidates -> { // error of softmax(QKᵀ)·V, what Q, K and V feed
            calls.add(candidates.size());
            INDArray approx = attention(x, candidates.get(0), candidates.get(1), candidates.get(2));
            double d = reference.sub(approx).norm2Number().doubleValue();
            return d * d;
        };
        float[] meanAbs = Transforms.abs(x).mean(0).toFloatVector();
        Awq.GroupResult r = new Awq().solveGroup("attention", layers, x, meanAbs, attentionLike, g128(4));

        assertThat(calls).hasSize(21).containsOnly(3);
        assertThat(r.layers()).extracting(Awq.LayerResult::name).containsExactly("q", "k", "v");
        assertThat(r.layers()).allSatisfy(l -> assertThat(l.scaled().inputScales()).isSameAs(r.scales().scales()));
        assertThat(r.layers().get(0).clip()).isNull();
        assertThat(r.layers().get(2).clip()).isNotNull();
        assertThat(r.layers().get(2).scaled().tensor().shape()).containsExactly(128, hidden);

        INDArray gamma = Nd4j.ones(DataType.FLOAT, hidden); // fold 1/s into a LayerNorm-like producer: x·gamma
        AwqFolding.LayerNormParams folded = AwqFolding.foldIntoLayerNorm(gamma, Nd4j.zeros(DataType.FLOAT, hidden),
                r.scales().scales());
        INDArray xFolded = x.mulRowVector(folded.gamma().reshape(1, hidden));
        INDArray deployed = attention(xFolded, r.layers().get(0).scaled().tensor().dequantize(),
                r.layers().get(1).scaled().tensor().dequantize(), r.layers().get(2).scaled().tensor().dequantize());
        INDArray simulated = attention(x, r.layers().get(0).scaled().effectiveWeightArray(),
                r.layers().get(1).scaled().effectiveWeightArray(), r.layers().get(2).scaled().effectiveWeightArray());
        double scale = simulated.amaxNumber().doubleValue();
        assertThat(deployed.sub(simulated).amaxNumber().doubleValue() / scale)
                .as("folded model with stored tensors = float model with effective weights").isLessThan(1e-4);
        double finalError = attentionLike.evaluate(List.of(r.layers().get(0).scaled().effectiveWeightArray(),
                r.layers().get(1).scaled().effectiveWeightArray(), r.layers().get(2).scaled().effectiveWeightArray()));
        System.out.printf("attention-output loss: unscaled RTN %.4g, best scales (alpha %.2f) %.4g, with V clipped %.4g%n",
                r.scales().unscaledLoss(), r.scales().alpha(), r.scales().loss(), finalError);
        assertThat(r.scales().loss()).isLessThan(r.scales().unscaledLoss());
        assertThat(finalError).isLessThan(r.scales().unscaledLoss());
    }

    private static INDArray attention(INDArray x, INDArray wq, INDArray wk, INDArray wv) {
        INDArray qx = x.mmul(wq.transpose());
        INDArray kx = x.mmul(wk.transpose());
        INDArray scores = Transforms.softmax(qx.mmul(kx.transpose()).divi(Math.sqrt(wq.size(0))), true);
        return scores.mmul(x.mmul(wv.transpose()));
    }

    @Test
    void badInputIsNamed() {
        Awq awq = new Awq();
        assertThatThrownBy(() -> awq.solve("mlp.fc1", LAYER.weight(), STATS,
                QuantSpec.builder().bits(4).perTensor().build())).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("mlp.fc1").hasMessageContaining("per channel or per group");
        assertThatThrownBy(() -> awq.solve("mlp.fc1", LAYER.weight(), STATS, QuantSpec.nf4(false)))
                .isInstanceOf(InvalidSpecException.class);
        assertThatThrownBy(() -> awq.solve("mlp.fc1", LAYER.weight(), STATS,
                QuantSpec.builder().bits(4).groupSize(100).build())).hasMessageContaining("does not divide");
        assertThatThrownBy(() -> awq.solve("mlp.fc1", LAYER.weight().getColumns(0, 1), STATS, g128(4)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("384 inputs");
        INDArray nan = LAYER.weight().dup();
        nan.putScalar(1, 2, Float.NaN);
        assertThatThrownBy(() -> awq.solve("mlp.fc1", nan, STATS, g128(4))).hasMessageContaining("finite");
        assertThatThrownBy(() -> awq.solve("mlp.fc1", LAYER.weight(), null, g128(4))).hasMessageContaining("calibration");
    }

    @Test
    void sameInputSameTensor() {
        assertThat(new Awq().solve("fc", LAYER.weight(), STATS, g128(3)))
                .isEqualTo(new Awq().solve("fc", LAYER.weight().dup(), LAYER.stats("fc"), g128(3)));
    }
}
