package org.quant4j.ptq.bert;

import org.quant4j.model.bert.QuantizableBert;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.rtn.Rtn;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.BertQuantizedWeights;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.Padding;
import org.quant4j.model.bert.TokenBatch;
import org.quant4j.ptq.BiasCorrection;
import org.quant4j.ptq.pipeline.PassRecorder;
import org.quant4j.ptq.pipeline.PtqListener;

/**
 * The runner's bias correction on the real all-MiniLM-L6-v2 (BertPtqTest's 8 SOTU calibration passages and 100
 * held-out sentences): the corrected targets' mean outputs on the calibration tokens are the float model's again, the
 * embeddings move closer to fp32 for RTN and AWQ (whose V outputs carry the attention output's folded scales),
 * and the model file carries the corrected biases.
 */
class BertBiasCorrectionTest {
    private static final QuantSpec INT4 = QuantSpec.builder().bits(4).groupSize(128).asymmetric().build();

    @BeforeAll
    static void data() {
        if (BertPtqTest.calibration == null) {
            BertPtqTest.data(); // the runs are shared with BertPtqTest (the AWQ ones take a while)
        }
    }

    /** RTN does not use calibration data, so its parallel run is the sequential one. */
    static BertPtqTest.Run run(String method, boolean corrected) {
        return BertPtqTest.run(method, method.equals("awq") || corrected, corrected);
    }

    @Test
    void correctedTargetsHaveTheFloatMeanOutputOnTheCalibrationTokens() {
        BertEncoder quantized = run("rtn", true).model().encoder();
        MiniLm floatModel = MiniLm.load();
        TokenBatch batch = floatModel.tokenizer().withTruncation(128)
                .withPadding(Padding.batchLongest()).encodeBatch(BertPtqTest.calibration);
        double worstCorrected = 0;
        double worstUncorrected = 0;
        BertEncoder uncorrected = run("rtn", false).model().encoder();
        for (LinearTarget t : quantized.targets()) {
            if (t.layer() != quantized.layerCount() - 1) {
                continue; // the last layer's six (each capture reruns the encoder up to the target)
            }
            double[] want = meanOutput(floatModel.encoder(), batch, t);
            worstCorrected = Math.max(worstCorrected, relativeDistance(meanOutput(quantized, batch, t), want));
            worstUncorrected = Math.max(worstUncorrected, relativeDistance(meanOutput(uncorrected, batch, t), want));
        }
        System.out.printf("largest relative distance of a target's mean output to fp32's: corrected %.2e, "
                + "uncorrected %.2e%n", worstCorrected, worstUncorrected);
        assertThat(worstCorrected).isLessThan(1e-4);
        assertThat(worstUncorrected).isGreaterThan(100 * worstCorrected);
    }

    @Test
    void correctionBringsTheEmbeddingsCloserToFp32ForRtnAndAwq() {
        for (String method : List.of("rtn", "awq")) {
            double plain = run(method, false).cosine();
            double corrected = run(method, true).cosine();
            System.out.printf("%s int4 g128, mean cosine to fp32 on 100 sentences: %.5f, bias-corrected %.5f%n",
                    method, plain, corrected);
            assertThat(corrected).as(method).isGreaterThan(plain + 0.003);
        }
    }

    @Test
    void theModelFileCarriesTheCorrectedBiases(@TempDir Path dir) throws Exception {
        BertPtqTest.Run corrected = run("rtn", true);
        Path file = dir.resolve("rtn-bc.q4j");
        corrected.result().writeModel(file);
        assertThat(corrected.result().model().metadata()).containsEntry("biasCorrection", "true");
        MiniLm fresh = MiniLm.load();
        BertQuantizedWeights.apply(ModelFileReader.read(file), fresh.encoder());
        String bias = "encoder.layer.5.attention.self.value.bias";
        assertThat(fresh.encoder().parameter(bias).equalsWithEps(MiniLm.load().encoder().parameter(bias), 1e-4)).isFalse();
        assertThat(fresh.embed(BertPtqTest.evaluation).sub(corrected.model().embed(BertPtqTest.evaluation)).amaxNumber().doubleValue())
                .isLessThanOrEqualTo(1e-6);
    }

    @Test
    void bothPassesReportTheirProgress() {
        PassRecorder passes = run("rtn", true).passes();
        assertThat(passes.events()).startsWith("started " + PtqListener.BIAS_CORRECTION_CAPTURE + " 6")
                .contains("finished " + PtqListener.BIAS_CORRECTION_CAPTURE, "started " + PtqListener.BIAS_CORRECTION + " 24")
                .endsWith("finished " + PtqListener.BIAS_CORRECTION);
        assertThat(passes.steps(PtqListener.BIAS_CORRECTION_CAPTURE)).hasSize(6).startsWith("encoder.layer.0");
        assertThat(passes.steps(PtqListener.BIAS_CORRECTION)).hasSize(24).startsWith(
                "encoder.layer.0.attention.self.qkv", "encoder.layer.0.attention.output.dense",
                "encoder.layer.0.intermediate.dense", "encoder.layer.0.output.dense");
        assertThat(run("rtn", false).passes().events()).as("no passes without bias correction").isEmpty();
    }

    @Test
    void correctionWithoutCalibrationIsRefused() {
        assertThatThrownBy(() -> PtqPipeline.builder(new Rtn(), INT4).biasCorrection(true).build()
                .quantize(QuantizableBert.of(MiniLm.load())))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("bias correction needs calibration");
    }

    private static double[] meanOutput(BertEncoder encoder, TokenBatch batch, LinearTarget t) {
        BiasCorrection.MeanInput mean = new BiasCorrection.MeanInput(t.inFeatures());
        mean.add(encoder.captureInputs(batch, t.name()));
        return BiasCorrection.meanOutput(t.name(), encoder.weight(t.name()).data().asFloat(),
                encoder.parameter(t.biasName()).data().asFloat(), mean.mean());
    }

    private static double relativeDistance(double[] a, double[] b) {
        double d = 0;
        double n = 0;
        for (int i = 0; i < a.length; i++) {
            d += (a[i] - b[i]) * (a[i] - b[i]);
            n += b[i] * b[i];
        }
        return Math.sqrt(d / n);
    }
}
