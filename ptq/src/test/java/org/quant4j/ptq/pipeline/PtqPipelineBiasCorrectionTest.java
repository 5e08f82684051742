package org.quant4j.ptq.pipeline;

import org.quant4j.calibration.CalibrationData;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.ptq.hqq.Hqq;
import org.quant4j.ptq.rtn.Rtn;
import org.quant4j.ptq.GridSolver;

/**
 * Bias correction ({@link PtqPipeline.Builder#biasCorrection}) on the MNIST MLP 784-1024-1024-10 trained on real
 * digits: calibration on training digits 0..511, effect measured on the 2,000 test digits against the fp32 network
 * (mean logits, logit error, KL, accuracy), the file round trip, and the refusals.
 */
class PtqPipelineBiasCorrectionTest {
    @TempDir
    Path dir;
    private static MultiLayerNetwork net;
    private static INDArray test;
    private static INDArray fp32Logits;

    @BeforeAll
    static void train() {
        net = TrainedMnist.mlp();
        test = TrainedMnist.digits().test().features();
        fp32Logits = PreActivations.of(net, 2, test);
    }

    private static PtqPipeline.Builder pipeline(GridSolver solver, QuantSpec spec, boolean correct) {
        return PtqPipeline.builder(solver, spec).groupFallback(GroupFallback.LARGEST_DIVISOR).sourceModel("MnistMlp")
                .calibration(TrainedMnist.calibration()).seed(3).biasCorrection(correct);
    }

    /** What a quantized network's logits on the test digits are, against fp32's. */
    record Fidelity(double meanLogitDistance, double logitMse, double kl, double accuracy) {
        static Fidelity of(MultiLayerNetwork quantized) {
            INDArray logits = PreActivations.of(quantized, 2, test);
            double meanDistance = logits.mean(0).sub(fp32Logits.mean(0)).norm2Number().doubleValue();
            double mse = logits.sub(fp32Logits).norm2Number().doubleValue();
            mse = mse * mse / logits.length();
            INDArray logP = logSoftmax(fp32Logits);
            INDArray logQ = logSoftmax(logits);
            double kl = org.nd4j.linalg.ops.transforms.Transforms.exp(logP, true).mul(logP.sub(logQ)).sumNumber()
                    .doubleValue() / logits.size(0);
            return new Fidelity(meanDistance, mse, kl, TrainedMnist.accuracy(quantized));
        }

        private static INDArray logSoftmax(INDArray z) {
            INDArray shifted = z.subColumnVector(z.max(1).reshape(z.size(0), 1));
            INDArray logSum = org.nd4j.linalg.ops.transforms.Transforms.log(
                    org.nd4j.linalg.ops.transforms.Transforms.exp(shifted, true).sum(1), false);
            return shifted.subColumnVector(logSum.reshape(z.size(0), 1));
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "|mean logit - fp32| %.4f, logit MSE %.4f, KL %.5f, acc %.2f%%",
                    meanLogitDistance, logitMse, kl, 100 * accuracy);
        }
    }

    /**
     * RTN (symmetric, groups of 128, 112 on the 784 inputs) and HQQ (its reference form: asymmetric, FP16 zero points,
     * group 64) at 3 and 2 bits, each with and without correction.
     */
    @Test
    void at3And2BitsTheCorrectedNetworksMeanLogitsAreCloserToFp32OnTheTestDigits() {
        double fp32Accuracy = TrainedMnist.accuracy(net);
        System.out.printf(Locale.ROOT, "MLP fp32 test accuracy %.2f%%%n", 100 * fp32Accuracy);
        for (int bits : new int[] {3, 2}) {
            QuantSpec rtn = QuantSpec.builder().bits(bits).groupSize(128).build();
            QuantSpec hqq = QuantSpec.builder().bits(bits).asymmetric().groupSize(64).zeroEncoding(NumberEncoding.FP16).build();
            for (var run : new Object[][] {{"rtn", new Rtn(), rtn}, {"hqq", new Hqq(), hqq}}) {
                String label = run[0] + " " + ((QuantSpec) run[2]).shortName();
                long t0 = System.nanoTime();
                PtqResult<MultiLayerNetwork> p = pipeline((GridSolver) run[1], (QuantSpec) run[2], false).build().quantize(net);
                long t1 = System.nanoTime();
                PtqResult<MultiLayerNetwork> c = pipeline((GridSolver) run[1], (QuantSpec) run[2], true).build().quantize(net);
                long t2 = System.nanoTime();
                Fidelity plain = Fidelity.of(p.network());
                Fidelity corrected = Fidelity.of(c.network());
                System.out.printf(Locale.ROOT, "%-22s %s%n%-22s %s  [%.1f s, %.1f s, %.1f s]%n", label, plain, label + " +bc",
                        corrected, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (System.nanoTime() - t2) / 1e9);
                assertThat(corrected.meanLogitDistance()).as(label).isLessThan(plain.meanLogitDistance());
                // measured: the correction also lowers the logit error and KL, and keeps or raises the accuracy
                assertThat(corrected.logitMse()).as(label).isLessThan(plain.logitMse());
                assertThat(corrected.kl()).as(label).isLessThan(plain.kl());
                assertThat(corrected.accuracy()).as(label).isGreaterThanOrEqualTo(plain.accuracy());
            }
        }
    }

    @Test
    void theWrittenFileReloadsToExactlyTheCorrectedNetwork() throws IOException {
        PassRecorder passes = new PassRecorder();
        PtqResult<MultiLayerNetwork> result = pipeline(new Rtn(), QuantSpec.builder().bits(3).groupSize(128).build(), true)
                .listener(passes).build().quantize(net);
        // the float means are captured block by block (a DL4J network is one block), the correction group by group
        assertThat(passes.events()).startsWith("started " + PtqListener.BIAS_CORRECTION_CAPTURE + " 1")
                .contains("finished " + PtqListener.BIAS_CORRECTION_CAPTURE, "started " + PtqListener.BIAS_CORRECTION + " 3")
                .endsWith("finished " + PtqListener.BIAS_CORRECTION);
        assertThat(passes.steps(PtqListener.BIAS_CORRECTION_CAPTURE)).containsExactly("layer0..layer2"); // one block: AWQ folds chain the Dense layers
        assertThat(passes.steps(PtqListener.BIAS_CORRECTION)).containsExactly("layer0/W", "layer1/W", "layer2/W");
        PtqResult<MultiLayerNetwork> plain = pipeline(new Rtn(), QuantSpec.builder().bits(3).groupSize(128).build(), false)
                .build().quantize(net);
        assertThat(result.model().metadata()).containsEntry("biasCorrection", "true");
        assertThat(plain.model().metadata()).containsEntry("biasCorrection", "false");
        assertThat(result.report().biasCorrection()).isTrue();
        assertThat(result.report().toMarkdown()).contains("bias correction:");
        for (LayerReport l : result.report().layers()) {
            assertThat(l.note()).as(l.layer()).contains("bias corrected (rms shift");
            // the weight-domain output error does not see the bias: identical with and without correction
            assertThat(l.outputError()).isEqualTo(plain.report().layer(l.layer()).outputError());
        }
        assertThat(result.model().quantizedTensors()).isEqualTo(plain.model().quantizedTensors());
        assertThat(result.model().floatTensors().get("layer1/b"))
                .as("the corrected bias is stored").isNotEqualTo(plain.model().floatTensors().get("layer1/b"));

        Path file = dir.resolve("mlp-rtn3-bc.q4j");
        result.writeModel(file);
        QuantizedModel read = ModelFileReader.read(file);
        MultiLayerNetwork fresh = net.clone();
        QuantizedWeights.load(Dl4jNetwork.of(fresh), read);
        assertThat(fresh.output(test)).isEqualTo(result.network().output(test));
        assertThat(fresh.params()).isEqualTo(result.network().params());
        assertThat(net.params()).as("the input network is not changed").isEqualTo(TrainedMnist.mlp().params());
    }

    @Test
    void biasCorrectionWithoutCalibrationDataIsRefusedBeforeAnyWork() {
        PtqPipeline p = PtqPipeline.builder(new Rtn(), QuantSpec.builder().bits(3).groupSize(128).build())
                .groupFallback(GroupFallback.LARGEST_DIVISOR).biasCorrection(true).build();
        assertThatThrownBy(() -> p.quantize(net)).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("bias correction needs calibration data");
    }

    /** A Dense without bias is left alone and the report says so; the layers around it are corrected. */
    @Test
    void aLayerWithoutBiasIsSkippedAndTheReportSaysSo() {
        MultiLayerNetwork small = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(11)
                .weightInit(WeightInit.RELU).list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(64).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(64).nOut(32).hasBias(false).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(32).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .build());
        small.init();
        PtqResult<MultiLayerNetwork> r = PtqPipeline.builder(new Rtn(), QuantSpec.builder().bits(2).perChannel().build())
                .calibration(TrainedMnist.calibration()).biasCorrection(true).build().quantize(small);
        assertThat(r.report().layer("layer1/W").note()).contains("no bias (hasBias=false)");
        assertThat(r.report().layer("layer0/W").note()).contains("bias corrected");
        assertThat(r.report().layer("layer2/W").note()).contains("bias corrected");
        assertThat(r.model().floatTensors()).containsOnlyKeys("layer0/b", "layer2/b");
        INDArray calibration = TrainedMnist.trainRows(0, 512);
        double[] fp32 = PreActivations.channelMeans(PreActivations.of(small, 2, calibration));
        double[] corrected = PreActivations.channelMeans(PreActivations.of(r.network(), 2, calibration));
        assertThat(PreActivations.maxDifference(corrected, fp32)).isLessThan(1e-5 * (1 + PreActivations.maxAbs(fp32)));
    }
}
