package org.quant4j.ptq.bert;

import org.quant4j.ptq.claq.Claq;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.TextCalibration;
import org.quant4j.model.bert.QuantizableBert;
import org.quant4j.ptq.Solvers;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqResult;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.BertQuantizedWeights;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.ModelInputException;
import org.quant4j.model.data.SotuCorpus;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.hqq.Hqq;
import org.quant4j.ptq.rtn.Rtn;
import org.quant4j.ptq.pipeline.LayerReport;
import org.quant4j.ptq.pipeline.PassRecorder;

/**
 * {@link BertPtq} on the real all-MiniLM-L6-v2 with 8 real calibration passages (SOTU) and 100 held-out
 * evaluation sentences: GPTQ against RTN target by target on identical inputs, AWQ against RTN on
 * sentence embeddings, AWQ's scale folding alone, the model file's content and reload, bad input.
 */
class BertPtqTest {
    private static final int PASSAGES = 8;
    private static final QuantSpec INT4_G128_ASYM = QuantSpec.builder().bits(4).groupSize(128).asymmetric().build();

    static List<String> calibration;
    static List<String> evaluation;
    static INDArray fp32;
    static final Map<String, Run> runs = new HashMap<>();

    /** A run: the quantized model, its result, its mean cosine to fp32, and the listener's whole-model pass events. */
    record Run(MiniLm model, PtqResult<QuantizableModel> result, double cosine, PassRecorder passes) {}

    @BeforeAll
    static void data() {
        SotuCorpus.Split split = SotuCorpus.load().split();
        calibration = split.calibration().subList(0, PASSAGES);
        evaluation = split.evaluation().subList(0, 100);
        fp32 = MiniLm.load().embed(evaluation);
    }

    /** One run per method and mode, shared by the tests (each takes seconds). */
    static Run run(String method, boolean sequential) {
        return run(method, sequential, false);
    }

    /** {@link #run(String, boolean)}, with bias correction when {@code biasCorrected}. */
    static synchronized Run run(String method, boolean sequential, boolean biasCorrected) {
        return runs.computeIfAbsent(method + sequential + biasCorrected, k -> {
            MiniLm model = MiniLm.load();
            PassRecorder passes = new PassRecorder();
            PtqResult<QuantizableModel> r = PtqPipeline.builder(Solvers.create(method), INT4_G128_ASYM).calibration(text(calibration))
                    .sequential(sequential).biasCorrection(biasCorrected).listener(passes).build()
                    .quantize(QuantizableBert.of(model));
            return new Run(model, r, meanCosine(model.embed(evaluation)), passes);
        });
    }

    /** Calibration text as the runner takes it (truncated to 128 tokens). */
    static TextCalibration text(List<String> texts) {
        return new TextCalibration(texts, 128, "SOTU");
    }

    static double meanCosine(INDArray embeddings) {
        return embeddings.mul(fp32).sum(1).meanNumber().doubleValue(); // rows are unit length
    }

    @Test
    void gptqBeatsRtnOnEveryTargetOnTheSameInputs() {
        PtqResult<QuantizableModel> rtn = run("rtn", false).result();
        PtqResult<QuantizableModel> gptq = run("gptq", false).result();
        assertThat(gptq.report().layers()).hasSize(36);
        for (LayerReport g : gptq.report().layers()) {
            LayerReport r = rtn.report().layer(g.layer());
            assertThat(g.errorRows()).isEqualTo(r.errorRows()).isPositive();
            assertThat(g.outputError()).as(g.layer()).isLessThan(r.outputError());
        }
        System.out.printf("embedding cosine to fp32 (100 SOTU sentences): rtn %.5f, gptq %.5f%n",
                run("rtn", false).cosine(), run("gptq", false).cosine());
    }

    @Test
    void awqEmbeddingsAreAtLeastAsCloseToFp32AsRtn() {
        Run awq = run("awq", true);
        Run rtn = run("rtn", false);
        System.out.printf("embedding cosine to fp32 (100 SOTU sentences): awq %.5f, rtn %.5f%n", awq.cosine(), rtn.cosine());
        assertThat(awq.cosine()).isGreaterThanOrEqualTo(rtn.cosine());
        assertThat(rtn.cosine()).isGreaterThan(0.8);
    }

    @Test
    void awqScaleFoldingAloneLeavesTheEmbeddingsUnchanged() {
        MiniLm model = MiniLm.load();
        BertEncoder encoder = model.encoder();
        QuantizableBert q = QuantizableBert.of(model);
        SplittableRandom random = new SplittableRandom(7);
        for (int layer = 0; layer < encoder.layerCount(); layer++) {
            List<ScaleGroup> groups = q.scaleGroups(layer);
            q.applyScales(layer, Map.of(groups.get(0).name(), scales(random, 384), groups.get(1).name(),
                    scales(random, 384), groups.get(2).name(), scales(random, 384), groups.get(3).name(),
                    scales(random, 1536)));
        }
        INDArray folded = model.embed(evaluation);
        double maxDifference = folded.sub(fp32).amaxNumber().doubleValue();
        System.out.printf("AWQ scales (0.1..10) applied without quantization: max |embedding difference| %.2e%n",
                maxDifference);
        assertThat(maxDifference).isLessThanOrEqualTo(1e-5);
        // the folding did change the value and attention output weights, so the test is not vacuous
        assertThat(encoder.weight("encoder.layer.0.attention.output.dense")
                .equalsWithEps(MiniLm.load().encoder().weight("encoder.layer.0.attention.output.dense"), 1e-3)).isFalse();
    }

    private static float[] scales(SplittableRandom random, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = (float) Math.pow(10, random.nextDouble(-1, 1));
        }
        return s;
    }

    @Test
    void theAwqModelFileHoldsWhatTheEncoderComputesWithAndReloads(@TempDir Path dir) throws Exception {
        Run awq = run("awq", true);
        Path file = dir.resolve("minilm-awq.q4j");
        awq.result().writeModel(file);
        QuantizedModel read = ModelFileReader.read(file);
        assertThat(read).isEqualTo(awq.result().model());
        assertThat(read.metadata()).containsEntry("method", "awq").containsEntry("model", "all-MiniLM-L6-v2");
        BertEncoder encoder = awq.model().encoder();
        assertThat(read.quantizedTensors()).hasSize(36);
        List<String> inputScales = new ArrayList<>();
        for (LinearTarget t : encoder.targets()) {
            QuantizedTensor q = read.quantizedTensors().get(t.name());
            FloatTensor s = read.floatTensors().get(t.name() + "/input_scale");
            float[] effective = q.dequantizeToArray();
            if (s != null) {
                inputScales.add(t.name());
                for (int i = 0; i < effective.length; i++) {
                    effective[i] /= s.data()[i % t.inFeatures()];
                }
            }
            assertThat(Nd4j.create(effective, q.shape(), 'c').equalsWithEps(encoder.weight(t.name()), 1e-6))
                    .as(t.name()).isTrue();
        }
        assertThat(inputScales).hasSize(30).noneMatch(n -> n.endsWith("attention.output.dense"));
        for (String p : encoder.parameterNames()) {
            if (!p.endsWith(".weight") || encoder.targets().stream().noneMatch(t -> t.weightName().equals(p))) {
                FloatTensor f = read.floatTensors().get(p);
                assertThat(f).as(p).isNotNull();
                assertThat(Nd4j.create(f.data(), f.shape(), 'c').equalsWithEps(encoder.parameter(p), 0)).as(p).isTrue();
            }
        }
        LayerReport v = awq.result().report().layer("encoder.layer.0.attention.self.value");
        QuantizedTensor vq = read.quantizedTensors().get("encoder.layer.0.attention.self.value");
        assertThat(v.bitsPerWeight()).as("the tensor's storage plus its fp32 input scales")
                .isEqualTo((8.0 * vq.storageBytes() + 32 * 384) / (384 * 384)).isGreaterThan(4.2);
    }

    @Test
    void awqWithGptqAsTheQuantizingStepRunsAndItsFileReloads(@TempDir Path dir) throws Exception {
        MiniLm model = MiniLm.load();
        Awq awqGptq = Awq.builder().gptq(Gptq.builder().actOrder(true).build()).build();
        long t0 = System.nanoTime();
        PtqResult<QuantizableModel> r = PtqPipeline.builder(awqGptq, INT4_G128_ASYM).calibration(text(calibration)).build()
                .quantize(QuantizableBert.of(model));
        System.out.printf("awq+gptq MiniLM run: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        double cosine = meanCosine(model.embed(evaluation));
        Run awq = run("awq", true);
        System.out.printf("embedding cosine to fp32 (100 SOTU sentences, %d calibration sentences): awq %.5f, awq+gptq"
                + " (act-order) %.5f, rtn %.5f%n", PASSAGES, awq.cosine(), cosine, run("rtn", false).cosine());
        assertThat(r.report().method()).isEqualTo("awq+gptq");
        assertThat(r.report().solver()).startsWith("awq+gptq(").contains("actOrder=true");
        assertThat(r.report().layers()).hasSize(36).allSatisfy(l -> assertThat(l.note()).contains("gptq")
                .doesNotContain("clip"));
        int better = 0;
        for (LayerReport l : r.report().layers()) {
            better += l.outputError() < awq.result().report().layer(l.layer()).outputError() ? 1 : 0;
        }
        System.out.printf("awq+gptq below awq's output error on %d of 36 targets%n", better);
        // on its calibration reservoir GPTQ lowers every target's error (36 of 36 measured); the embeddings are not
        // asserted against AWQ's: with 8 calibration sentences AWQ+GPTQ measured 0.9705 against AWQ's 0.9729 (with
        // 8 passages 0.9737 against 0.9721), too few rows for GPTQ to generalise
        assertThat(better).isGreaterThanOrEqualTo(34);
        assertThat(cosine).isGreaterThan(run("rtn", false).cosine());

        Path file = dir.resolve("minilm-awq-gptq.q4j");
        r.writeModel(file);
        QuantizedModel read = ModelFileReader.read(file);
        assertThat(read).isEqualTo(r.model());
        assertThat(read.metadata()).containsEntry("method", "awq+gptq");
        MiniLm fresh = MiniLm.load();
        BertQuantizedWeights.apply(read, fresh.encoder());
        assertThat(fresh.embed(evaluation).equalsWithEps(model.embed(evaluation), 1e-5)).isTrue();
    }

    @Test
    void claqAt2point5BitsIsStoredWithHonestBits(@TempDir Path dir) throws Exception {
        MiniLm model = MiniLm.load();
        PtqResult<QuantizableModel> r = PtqPipeline.builder(new Claq(ClaqParams.adaptive(2.5)))
                .calibration(text(calibration)).build().quantize(QuantizableBert.of(model));
        double cosine = meanCosine(model.embed(evaluation));
        System.out.printf("embedding cosine to fp32 (100 SOTU sentences): claq 2.5 bits %.5f, %.3f bits/weight%n",
                cosine, r.report().bitsPerWeight());
        QuantizedModel m = r.model();
        assertThat(m.claqTensors()).hasSize(36);
        assertThat(m.quantizedTensors()).isEmpty();
        long bits = 0;
        long weights = 0;
        for (LinearTarget t : model.encoder().targets()) {
            ClaqTensor c = m.claqTensors().get(t.name());
            assertThat(c.averageCodeBits()).as(t.name()).isCloseTo(2.5, org.assertj.core.data.Offset.offset(0.05));
            assertThat(r.report().layer(t.name()).bitsPerWeight()).isEqualTo(8.0 * c.storageBytes() / c.size())
                    .isGreaterThan(c.averageCodeBits());
            assertThat(c.dequantize().reshape(t.outFeatures(), t.inFeatures())
                    .equalsWithEps(model.encoder().weight(t.name()), 0)).as(t.name()).isTrue();
            bits += 8 * c.storageBytes();
            weights += c.size();
        }
        assertThat(r.report().bitsPerWeight()).isEqualTo((double) bits / weights);
        Path file = dir.resolve("minilm-claq.q4j");
        r.writeModel(file);
        assertThat(ModelFileReader.read(file)).isEqualTo(m);
        assertThat(cosine).isGreaterThan(0.5);
    }

    @Test
    void aSolverWithNonDefaultOptionsReplacesTheDefaultOne() {
        MiniLm model = MiniLm.load();
        PtqResult<QuantizableModel> r = PtqPipeline.builder(Gptq.builder().actOrder(true).build(), INT4_G128_ASYM)
                .calibration(text(calibration)).sequential(false).build().quantize(QuantizableBert.of(model));
        assertThat(r.report().solver()).contains("actOrder=true");
        assertThat(r.model().metadata().get("solver")).contains("actOrder=true");
        MiniLm plain = run("gptq", false).model();
        boolean differs = false;
        for (LinearTarget t : model.encoder().targets()) {
            assertThat(r.model().quantizedTensors().get(t.name()).groupIndex()).as(t.name()).isNotNull();
            differs |= !model.encoder().weight(t.name()).equalsWithEps(plain.encoder().weight(t.name()), 0);
        }
        assertThat(differs).isTrue();
    }

    @Test
    void badInputFailsClearly() {
        MiniLm model = MiniLm.load();
        QuantizableBert q = QuantizableBert.of(model);
        assertThatThrownBy(() -> PtqPipeline.builder(new Gptq(), INT4_G128_ASYM)
                .calibration(new TextCalibration(calibration, 1000, "")).build().quantize(q))
                .isInstanceOf(ModelInputException.class).hasMessageContaining("512 positions");
        assertThatThrownBy(() -> PtqPipeline.builder(new Gptq(), INT4_G128_ASYM).build().quantize(q))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("needs calibration data (TextCalibration");
        assertThatThrownBy(() -> Solvers.create("smoothquant"))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("rtn, gptq, hqq, awq, claq");
        assertThatThrownBy(() -> PtqPipeline.builder(new Rtn(), QuantSpec.builder().bits(4).groupSize(100).build())
                .build().quantize(q)).isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("encoder.layer.0.attention.self.query").hasMessageContaining("384");
        assertThatThrownBy(() -> PtqPipeline.builder(new Awq(), QuantSpec.nf4(false)).calibration(text(calibration))
                .build().quantize(q)).isInstanceOf(InvalidSpecException.class).hasMessageContaining("awq");
        assertThatThrownBy(() -> PtqPipeline.builder(new Gptq(), INT4_G128_ASYM)
                .calibration(org.quant4j.calibration.CalibrationData.of(org.nd4j.linalg.factory.Nd4j.zeros(2, 384), 1, "rows"))
                .build().quantize(q)).isInstanceOf(QuantizationException.class).hasMessageContaining("TextCalibration");
    }
}
