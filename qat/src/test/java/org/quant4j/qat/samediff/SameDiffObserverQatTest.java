package org.quant4j.qat.samediff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.quant4j.calibration.observer.MinMaxObserver;
import org.quant4j.calibration.observer.RangeObserver;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.qat.ActivationGradient;
import org.quant4j.qat.ObserverKind;
import org.quant4j.qat.QatConfig;

/**
 * Observed activation ranges in SameDiff QAT: the observer state after known {@code sd.fit} batches equals the same
 * observer (as the DL4J path creates it from a {@link QatConfig}) fed the same batches; each training iteration
 * quantizes with the grid updated by its own batch (captured inside {@code sd.fit}), bit for bit IntGrid's fake
 * quantization of that grid; the gradient is the clipped STE of PyTorch's {@code fake_quantize_per_tensor_affine}
 * (exact comparison); freezing, inference without updates, and convert / dequantizedGraph.
 */
class SameDiffObserverQatTest {
    private static final int FEATURES = 24;
    private static final QuantSpec UINT8 = QuantSpec.integer(8, false, Granularity.perTensor());

    @Test
    void observerStateAndTrainingGridFollowTheDl4jObserverWithoutLag() {
        QatConfig config = QatConfig.builder().activations(UINT8).averagingConstant(0.25f).percentile(99.0)
                .histogramBins(512).build();
        ObserverOptions options = ObserverOptions.of(config);
        for (ObserverKind kind : ObserverKind.values()) {
            for (QuantSpec spec : new QuantSpec[] {UINT8, QuantSpec.integer(4, true, Granularity.perTensor())}) {
                List<DataSet> batches = batches(6, 11);
                SameDiff sd = regression(spec, kind, options);
                SameDiffQat qat = SameDiffQat.of(sd);
                Capture capture = new Capture("a" + SameDiffQat.OUTPUT_SUFFIX);
                sd.addListeners(capture);
                sd.fit(new ExistingDataSetIterator(batches), 1);

                IntGrid grid = IntGrid.of(spec);
                RangeObserver reference = dl4jObserver(kind, config, grid);
                assertThat(capture.values).hasSize(batches.size());
                for (int k = 0; k < batches.size(); k++) {
                    INDArray x = batches.get(k).getFeatures();
                    reference.observe(x);
                    IntGrid.Params p = grid.fitRange(Math.min(reference.min(), 0f), Math.max(reference.max(), 0f));
                    float[] expected = fakeQuantize(grid, x, p);
                    float[] got = capture.values.get(k).dup('c').data().asFloat();
                    assertThat(got).as("%s %s iteration %d", kind, spec.shortName(), k).containsExactly(expected);
                }
                SdObservedActivation observed = qat.activations().get("a").observed;
                assertThat(observed.observer.observations()).isEqualTo(batches.size());
                assertThat(observed.observer.min()).as("%s min", kind).isEqualTo(reference.min());
                assertThat(observed.observer.max()).as("%s max", kind).isEqualTo(reference.max());
                IntGrid.Params p = grid.fitRange(Math.min(reference.min(), 0f), Math.max(reference.max(), 0f));
                assertThat(observed.graphGrid(sd)).containsExactly(p.scale(), p.zero());
            }
        }
    }

    @Test
    void gradientIsTheClippedSteAndForwardIsIntGridBitForBit() {
        Random r = new Random(3);
        float[] x = new float[40 * 50];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 2 + 0.3);
        QuantSpec fp16Zero = QuantSpec.builder().bits(4).asymmetric().perTensor().zeroEncoding(NumberEncoding.FP16).build();
        for (QuantSpec spec : new QuantSpec[] {UINT8, QuantSpec.integer(8, true, Granularity.perTensor()),
                QuantSpec.integer(3, false, Granularity.perTensor()), fp16Zero}) {
            for (ActivationGradient gradient : new ActivationGradient[] {ActivationGradient.CLIPPED_STE, ActivationGradient.STE}) {
                SameDiff sd = SameDiff.create();
                SDVariable a = sd.var("a", Nd4j.create(x, new long[] {40, 50}, 'c'));
                SameDiffQat qat = SameDiffQat.of(sd);
                SDVariable fq = qat.fakeQuantActivation(a, spec, ObserverKind.MIN_MAX,
                        ObserverOptions.defaults().withGradient(gradient));
                // before any observation the activation passes unquantized
                assertThat(sd.output(Map.of(), fq.name()).get(fq.name())).isEqualTo(a.getArr());
                qat.observeActivations(Map.of());
                // then move a so that a third of it lies outside the observed range (and some exactly on grid points)
                float[] moved = new float[x.length];
                for (int i = 0; i < x.length; i++) moved[i] = i % 3 == 0 ? x[i] * 3f : x[i];
                IntGrid grid = IntGrid.of(spec);
                IntGrid.Params p = grid.fitRange(Math.min(min(x), 0f), Math.max(max(x), 0f));
                for (int i = 0; i < 20; i++) moved[7 * i] = (i - 10) * p.scale() + (i % 2) * 0.5f * p.scale();
                a.getArr().assign(Nd4j.create(moved, new long[] {40, 50}, 'c'));
                float[] got = sd.output(Map.of(), fq.name()).get(fq.name()).dup('c').data().asFloat();
                float[] expected = new float[x.length];
                for (int i = 0; i < x.length; i++) expected[i] = grid.fakeQuantize(moved[i], p.scale(), p.zero());
                assertThat(got).as("%s forward", spec.shortName()).containsExactly(expected);

                float[] c = new float[x.length];
                for (int i = 0; i < c.length; i++) c[i] = (float) r.nextGaussian();
                sd.setLossVariables(fq.mul(sd.constant(Nd4j.create(c, new long[] {40, 50}, 'c'))).sum());
                float[] da = sd.calculateGradients(Map.of(), "a").get("a").dup('c').data().asFloat();
                int clipped = 0;
                for (int i = 0; i < x.length; i++) {
                    // DL4J's ClippingMask.roundedCodeInRange: rint((a - offset)/s) in [-z, 2^b-1-z]
                    float q = (float) Math.rint(moved[i] / p.scale());
                    boolean inside = q >= -p.zero() && q <= grid.maxCode() - p.zero();
                    float want = gradient == ActivationGradient.STE || inside ? c[i] : 0f;
                    if (!inside) clipped++;
                    assertThat(da[i]).as("%s %s element %d", spec.shortName(), gradient, i).isEqualTo(want);
                }
                assertThat(clipped).as("elements outside the grid").isGreaterThan(50);
            }
        }
    }

    @Test
    void freezesAfterTheGivenBatchesAndInferenceUpdatesNothing() {
        List<DataSet> batches = batches(5, 2);
        SameDiff sd = regression(UINT8, ObserverKind.MIN_MAX, ObserverOptions.defaults().withFreezeAfter(2));
        SameDiffQat qat = SameDiffQat.of(sd);
        SdObservedActivation observed = qat.activations().get("a").observed;
        assertThatThrownBy(qat::convert).isInstanceOf(QuantizationException.class).hasMessageContaining("seen no batch");
        // inference before training: no observation, the activation passes through
        INDArray probe = batches.get(4).getFeatures().mul(10);
        assertThat(sd.output(Map.of("in", probe), "a" + SameDiffQat.OUTPUT_SUFFIX).get("a" + SameDiffQat.OUTPUT_SUFFIX))
                .isEqualTo(probe);
        assertThat(observed.observer.hasRange()).isFalse();

        sd.fit(new ExistingDataSetIterator(batches), 1);
        MinMaxObserver reference = new MinMaxObserver(-1);
        reference.observe(batches.get(0).getFeatures());
        reference.observe(batches.get(1).getFeatures());
        assertThat(observed.observer.observations()).isEqualTo(2);
        assertThat(observed.observer.isFrozen()).isTrue();
        IntGrid.Params p = IntGrid.of(UINT8).fitRange(Math.min(reference.min(), 0f), Math.max(reference.max(), 0f));
        assertThat(observed.graphGrid(sd)).containsExactly(p.scale(), p.zero());
        // the later batches have a wider range: frozen, they did not move it
        assertThat(max(batches.get(4).getFeatures().data().asFloat())).isGreaterThan(reference.max());

        float[] before = observed.graphGrid(sd);
        INDArray out = sd.output(Map.of("in", probe), "a" + SameDiffQat.OUTPUT_SUFFIX).get("a" + SameDiffQat.OUTPUT_SUFFIX);
        assertThat(observed.graphGrid(sd)).containsExactly(before);
        assertThat(out.dup('c').data().asFloat()).containsExactly(fakeQuantize(IntGrid.of(UINT8), probe, p));

        // an unfrozen observer: inference leaves it alone too
        SameDiff live = regression(UINT8, ObserverKind.MOVING_AVERAGE_MIN_MAX, ObserverOptions.defaults());
        live.fit(new ExistingDataSetIterator(batches), 1);
        SdObservedActivation liveObserved = SameDiffQat.of(live).activations().get("a").observed;
        float[] liveGrid = liveObserved.graphGrid(live);
        live.output(Map.of("in", probe), "a" + SameDiffQat.OUTPUT_SUFFIX);
        assertThat(liveObserved.observer.observations()).isEqualTo(batches.size());
        assertThat(liveObserved.graphGrid(live)).containsExactly(liveGrid);
    }

    @Test
    void convertStoresTheGridTheGraphUsedAndTheDequantizedGraphReproducesIt() {
        List<DataSet> batches = batches(4, 5);
        SameDiff sd = regression(UINT8, ObserverKind.PERCENTILE, ObserverOptions.defaults().withPercentile(99.5));
        SameDiffQat qat = SameDiffQat.of(sd);
        sd.fit(new ExistingDataSetIterator(batches), 1);
        QuantizedModel model = qat.convert();
        float[] stored = model.floatTensors().get("a" + SameDiffQat.ACTIVATION_SUFFIX).data();
        float[] graph = qat.activations().get("a").observed.graphGrid(sd);
        assertThat(stored).containsExactly(graph[0], graph[1], 0f);
        assertThat(model.floatTensors()).containsOnlyKeys("w", "a" + SameDiffQat.ACTIVATION_SUFFIX);
        assertThat(model.metadata().get(SameDiffQatConversion.METADATA_KEY)).contains("\"observer\":\"PERCENTILE\"");

        SameDiff deployed = qat.dequantizedGraph(model);
        INDArray probe = batches(1, 9).get(0).getFeatures().mul(1.3);
        INDArray want = sd.output(Map.of("in", probe), "out").get("out");
        INDArray got = deployed.output(Map.of("in", probe), "out").get("out");
        assertThat(got.sub(want).amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-5);
        // the dequantized graph's grid comes from the model: a different stored scale changes the outputs
        model.floatTensors().get("a" + SameDiffQat.ACTIVATION_SUFFIX).data()[0] *= 2;
        INDArray other = qat.dequantizedGraph(model).output(Map.of("in", probe), "out").get("out");
        assertThat(other.sub(want).amaxNumber().doubleValue()).isGreaterThan(1e-3);
    }

    /**
     * {@code sd.save} keeps the fake-quant ops and the last observed grid (same outputs after loading), but the
     * quantizers' state stays with the SameDiffQat: converting the loaded graph is refused with the cause named.
     */
    @Test
    void aSavedGraphKeepsItsGridButConvertAsksForTheOriginalInstance(@TempDir Path dir) {
        List<DataSet> batches = batches(3, 6);
        SameDiff sd = regression(UINT8, ObserverKind.MIN_MAX, ObserverOptions.defaults());
        sd.fit(new ExistingDataSetIterator(batches), 1);
        File file = dir.resolve("graph.fb").toFile();
        sd.save(file, false);
        SameDiff loaded = SameDiff.load(file, false);
        INDArray probe = batches(1, 8).get(0).getFeatures().mul(1.7);
        INDArray want = sd.output(Map.of("in", probe), "out").get("out");
        assertThat(loaded.output(Map.of("in", probe), "out").get("out")).isEqualTo(want);
        assertThatThrownBy(() -> SameDiffQat.convert(loaded)).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("a" + SameDiffQat.OUTPUT_SUFFIX).hasMessageContaining("sd.save");
    }

    /**
     * SameDiffMnistQatTest's MLP 784-128-10 (2,000 digits, 2 epochs, Adam 3e-3, batch 100) with the hidden ReLU
     * output on an observed uint8 grid (moving-average min-max, PyTorch's default QAT activation observer, frozen
     * after 30 of the 40 iterations; float weights, so that the test measures the activation quantizer and stays
     * short): accuracy within 2 points of fp32 trained from the same weights, convert reproduces the fake-quant outputs.
     */
    @Test
    void observedUint8MlpOnMnistTrainsCloseToFp32AndConverts() {
        org.quant4j.model.data.MnistDigits digits = org.quant4j.model.data.MnistDigits.load();
        INDArray x = SameDiffMnistQatTest.firstRows(digits.train().features());
        INDArray y = SameDiffMnistQatTest.firstRows(digits.train().oneHotLabels());
        long t0 = System.nanoTime();
        SameDiff fp32 = SameDiffMnistQatTest.mlp(null, null, null);
        SameDiffMnistQatTest.fit(fp32, x, y);
        double fp32Accuracy = SameDiffMnistQatTest.accuracy(fp32, digits.test());
        long t1 = System.nanoTime();
        SameDiff sd = SameDiffMnistQatTest.mlp(SameDiffQat::of, null, (qat, h) -> qat.fakeQuantActivation(
                h, UINT8, ObserverKind.MOVING_AVERAGE_MIN_MAX, ObserverOptions.defaults().withFreezeAfter(30)));
        SameDiffMnistQatTest.fit(sd, x, y);
        double qatAccuracy = SameDiffMnistQatTest.accuracy(sd, digits.test());
        long t2 = System.nanoTime();
        SameDiffQat qat = SameDiffQat.of(sd);
        SdObservedActivation observed = qat.activations().get("h").observed;
        assertThat(observed.observer.observations()).isEqualTo(30);
        QuantizedModel model = qat.convert();
        float[] stored = model.floatTensors().get("h" + SameDiffQat.ACTIVATION_SUFFIX).data();
        IntGrid.Params p = observed.params();
        assertThat(stored).containsExactly(p.scale(), p.zero(), 0f);
        INDArray fq = SameDiffMnistQatTest.logits(sd, digits.test().features());
        INDArray dq = SameDiffMnistQatTest.logits(qat.dequantizedGraph(model), digits.test().features());
        double maxAbsDiff = fq.sub(dq).amaxNumber().doubleValue();
        System.out.printf("SameDiff MLP, observed uint8 hidden activation (moving average, frozen after 30): fp32 %.4f, "
                        + "QAT %.4f, h grid scale %.5f zero %.0f, dequantized max |diff| %.2e; fp32 %.1f s, QAT %.1f s%n",
                fp32Accuracy, qatAccuracy, p.scale(), p.zero(), maxAbsDiff, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        assertThat(maxAbsDiff).isLessThanOrEqualTo(1e-5);
        assertThat(fp32Accuracy).isGreaterThan(0.85);
        assertThat(qatAccuracy).isGreaterThan(fp32Accuracy - 0.02);
    }

    /**
     * Two observed quantizers in a row: in each training iteration the second one's grid comes from its input
     * computed with the first one's grid already updated by the same batch.
     */
    @Test
    void chainedObserversSeeTheUpstreamGridOfTheSameIteration() {
        SameDiff sd = SameDiff.create();
        SameDiffQat qat = SameDiffQat.of(sd);
        QuantSpec int4 = QuantSpec.integer(4, false, Granularity.perTensor());
        SDVariable in = sd.placeHolder("in", DataType.FLOAT, -1, FEATURES);
        SDVariable label = sd.placeHolder("label", DataType.FLOAT, -1, 3);
        SDVariable a = in.mul("a", 1.0);
        SDVariable fa = qat.fakeQuantActivation(a, int4, ObserverKind.MIN_MAX);
        SDVariable b = sd.math().tanh("b", fa);
        SDVariable fb = qat.fakeQuantActivation(b, int4, ObserverKind.MIN_MAX);
        SDVariable w = sd.var("w", Nd4j.rand(DataType.FLOAT, FEATURES, 3).subi(0.5));
        sd.loss().meanSquaredError("loss", label, fb.mmul(w), null);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Sgd(0.01))
                .dataSetFeatureMapping("in").dataSetLabelMapping("label").build());
        Capture capture = new Capture("b" + SameDiffQat.OUTPUT_SUFFIX);
        sd.addListeners(capture);
        List<DataSet> batches = batches(4, 21);
        sd.fit(new ExistingDataSetIterator(batches), 1);

        IntGrid grid = IntGrid.of(int4);
        MinMaxObserver first = new MinMaxObserver(-1);
        MinMaxObserver second = new MinMaxObserver(-1);
        for (int k = 0; k < batches.size(); k++) {
            INDArray x = batches.get(k).getFeatures();
            first.observe(x);
            IntGrid.Params pa = grid.fitRange(Math.min(first.min(), 0f), Math.max(first.max(), 0f));
            INDArray bk = org.nd4j.linalg.ops.transforms.Transforms.tanh(
                    Nd4j.create(fakeQuantize(grid, x, pa), x.shape(), 'c'), false);
            second.observe(bk);
            IntGrid.Params pb = grid.fitRange(Math.min(second.min(), 0f), Math.max(second.max(), 0f));
            assertThat(capture.values.get(k).dup('c').data().asFloat()).as("iteration %d", k)
                    .containsExactly(fakeQuantize(grid, bk, pb));
        }
    }

    @Test
    void refusesWhatItCannotQuantize() {
        SameDiff sd = SameDiff.create();
        SameDiffQat qat = SameDiffQat.of(sd);
        SDVariable d = sd.var("d", Nd4j.zeros(DataType.DOUBLE, 2, 3));
        assertThatThrownBy(() -> qat.fakeQuantActivation(d, UINT8, ObserverKind.MIN_MAX))
                .isInstanceOf(org.quant4j.core.InvalidTensorException.class).hasMessageContaining("'d'");
        SDVariable f = sd.var("f", Nd4j.zeros(DataType.FLOAT, 2, 3));
        assertThatThrownBy(() -> qat.fakeQuantActivation(f, QuantSpec.integer(8, false, Granularity.perChannel()),
                ObserverKind.MIN_MAX)).isInstanceOf(org.quant4j.core.InvalidSpecException.class).hasMessageContaining("'f'");
        assertThatThrownBy(() -> qat.fakeQuantActivation(f, UINT8, ObserverKind.MOVING_AVERAGE_MIN_MAX,
                ObserverOptions.defaults().withAveragingConstant(0f))).isInstanceOf(org.quant4j.core.InvalidSpecException.class)
                .hasMessageContaining("averaging constant");
        assertThatThrownBy(() -> ObserverOptions.defaults().withGradient(ActivationGradient.LSQ))
                .isInstanceOf(org.quant4j.core.InvalidSpecException.class);
        assertThatThrownBy(() -> qat.fakeQuantActivation(f, UINT8, ActivationGradient.CLIPPED_STE))
                .isInstanceOf(org.quant4j.core.InvalidSpecException.class).hasMessageContaining("ObserverKind");
        assertThat(qat.activations()).isEmpty();
    }

    /** {@code in -> a = in·1 -> fake quant (observed) -> mmul w -> out}, MSE loss against the labels, SGD. */
    private static SameDiff regression(QuantSpec spec, ObserverKind kind, ObserverOptions options) {
        SameDiff sd = SameDiff.create();
        SameDiffQat qat = SameDiffQat.of(sd);
        SDVariable in = sd.placeHolder("in", DataType.FLOAT, -1, FEATURES);
        SDVariable label = sd.placeHolder("label", DataType.FLOAT, -1, 3);
        SDVariable a = in.mul("a", 1.0);
        SDVariable fq = qat.fakeQuantActivation(a, spec, kind, options);
        SDVariable w = sd.var("w", Nd4j.rand(DataType.FLOAT, FEATURES, 3).subi(0.5));
        SDVariable out = sd.identity("out", fq.mmul(w));
        sd.loss().meanSquaredError("loss", label, out, null);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Sgd(0.01))
                .dataSetFeatureMapping("in").dataSetLabelMapping("label").build());
        return sd;
    }

    /** Batches whose ranges drift (scale and shift per batch), so every observer moves. */
    private static List<DataSet> batches(int count, long seed) {
        Random r = new Random(seed);
        List<DataSet> out = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            int rows = 16 + 4 * k;
            float[] x = new float[rows * FEATURES];
            double scale = 0.5 + 0.6 * k;
            double shift = (k % 3 - 1) * 0.4;
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * scale + shift);
            out.add(new DataSet(Nd4j.create(x, new long[] {rows, FEATURES}, 'c'), Nd4j.rand(DataType.FLOAT, rows, 3)));
        }
        return out;
    }

    /** The observer the DL4J path's {@code ObserverKind.create(config)} builds. */
    private static RangeObserver dl4jObserver(ObserverKind kind, QatConfig c, IntGrid grid) {
        return kind.create(c.averagingConstant(), c.percentile(), c.histogramBins(), c.freezeObserversAfter(), grid);
    }

    private static float[] fakeQuantize(IntGrid grid, INDArray x, IntGrid.Params p) {
        float[] v = x.castTo(DataType.FLOAT).dup('c').data().asFloat();
        grid.fakeQuantize(v, 0, v.length, p, v, 0);
        return v;
    }

    private static float min(float[] v) {
        float m = Float.POSITIVE_INFINITY;
        for (float f : v) m = Math.min(m, f);
        return m;
    }

    private static float max(float[] v) {
        float m = Float.NEGATIVE_INFINITY;
        for (float f : v) m = Math.max(m, f);
        return m;
    }

    /** Records a variable's value in every training iteration, as the training forward pass computed it. */
    private static final class Capture extends BaseListener {
        private final String name;
        final List<INDArray> values = new ArrayList<>();

        Capture(String name) {
            this.name = name;
        }

        @Override
        public boolean isActive(Operation operation) {
            return operation == Operation.TRAINING;
        }

        @Override
        public void opExecution(SameDiff sd, At at, org.nd4j.linalg.dataset.api.MultiDataSet batch, SameDiffOp op,
                                org.nd4j.linalg.api.ops.OpContext opContext, INDArray[] outputs) {
            List<String> names = op.getOutputsOfOp();
            for (int i = 0; i < names.size(); i++) {
                if (names.get(i).equals(name)) {
                    values.add(outputs[i].dup());
                }
            }
        }
    }
}
