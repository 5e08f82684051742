package org.quant4j.ptq.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.rtn.Rtn;

/**
 * After bias correction every corrected layer's mean pre-activation over the calibration digits is the float
 * network's, as DL4J computes it (its own convolution, not quant4j's im2col): for GPTQ, AWQ (scales folded into the
 * network) and CLAQ on the MNIST MLP, on the small CNN (per output channel of the convolution, zero padding and
 * stride as the layer sees them) and on a ComputationGraph.
 */
class PtqPipelineBiasCorrectionSolversTest {
    private static final INDArray CALIBRATION = TrainedMnist.trainRows(0, 512);

    /** Channel means of a layer's pre-activations over the calibration digits, by layer (index or vertex name). */
    private interface Means {
        double[] of(String layer);

        static Means of(MultiLayerNetwork net) {
            return layer -> PreActivations.channelMeans(PreActivations.of(net, Integer.parseInt(layer), CALIBRATION));
        }

        static Means of(ComputationGraph graph) {
            return layer -> PreActivations.channelMeans(PreActivations.of(graph, layer, CALIBRATION));
        }
    }

    /**
     * Asserts that the corrected layers match fp32's means to float tolerance ({@code 1e-5} of their scale), and
     * (when {@code plain} is given) that without correction they were at least ten times farther.
     */
    private static void assertRestored(String label, Means fp32, Means plain, Means corrected, String... layers) {
        double worstPlain = 0;
        double worstCorrected = 0;
        for (String layer : layers) {
            double[] f = fp32.of(layer);
            double scale = 1 + PreActivations.maxAbs(f);
            double c = PreActivations.maxDifference(corrected.of(layer), f);
            double p = plain == null ? Double.NaN : PreActivations.maxDifference(plain.of(layer), f);
            System.out.printf(Locale.ROOT, "%-16s %-6s: max |mean pre-activation - fp32| %.3e -> %.3e (scale %.2f)%n",
                    label, layer, p, c, scale);
            assertThat(c).as("%s layer %s", label, layer).isLessThan(1e-5 * scale);
            worstPlain = Math.max(worstPlain, p / scale);
            worstCorrected = Math.max(worstCorrected, c / scale);
        }
        if (plain != null) {
            assertThat(worstPlain).as("%s without correction", label).isGreaterThan(10 * worstCorrected);
        }
    }

    private static PtqPipeline.Builder calibrated(PtqPipeline.Builder b, boolean correct) {
        return b.groupFallback(GroupFallback.LARGEST_DIVISOR).calibration(TrainedMnist.calibration()).seed(3)
                .biasCorrection(correct);
    }

    /**
     * The corrected network with the float biases put back: the uncorrected result of a solver whose stored weights
     * bias correction does not change (every solver but AWQ, whose folds also divide biases).
     */
    private static MultiLayerNetwork uncorrected(MultiLayerNetwork corrected, MultiLayerNetwork fp32) {
        MultiLayerNetwork plain = corrected.clone();
        restoreBiases(Dl4jNetwork.of(plain), Dl4jNetwork.of(fp32));
        return plain;
    }

    private static ComputationGraph uncorrected(ComputationGraph corrected, ComputationGraph fp32) {
        ComputationGraph plain = corrected.clone();
        restoreBiases(Dl4jNetwork.of(plain), Dl4jNetwork.of(fp32));
        return plain;
    }

    private static void restoreBiases(Dl4jNetwork into, Dl4jNetwork from) {
        from.otherParams().forEach((name, p) -> into.otherParams().get(name).assign(p));
    }

    @Test
    void aGptqCorrectedMlpHasTheFloatMeanPreActivationsInEveryLayer() {
        MultiLayerNetwork mlp = TrainedMnist.mlp();
        QuantSpec int3 = QuantSpec.builder().bits(3).groupSize(128).build();
        MultiLayerNetwork gptq = calibrated(PtqPipeline.builder(new Gptq(), int3), true).build().quantize(mlp).network();
        assertRestored("gptq int3 g128", Means.of(mlp), Means.of(uncorrected(gptq, mlp)), Means.of(gptq), "0", "1", "2");
    }

    @Test
    void onTheCnnEveryChannelOfTheConvolutionGetsItsFloatMean() {
        MultiLayerNetwork cnn = TrainedMnist.cnn();
        QuantSpec int2 = QuantSpec.builder().bits(2).perChannel().build();
        PtqResult<MultiLayerNetwork> corrected = calibrated(PtqPipeline.builder(new Rtn(), int2), true).build().quantize(cnn);
        MultiLayerNetwork plain = uncorrected(corrected.network(), cnn);
        assertThat(corrected.report().layer("layer0/W").note()).contains("bias corrected");
        assertRestored("cnn rtn int2", Means.of(cnn), Means.of(plain), Means.of(corrected.network()), "0", "1", "2");
        System.out.printf(Locale.ROOT, "cnn rtn int2 channel: acc %.2f%% -> %.2f%% (fp32 %.2f%%)%n",
                100 * TrainedMnist.accuracy(plain), 100 * TrainedMnist.accuracy(corrected.network()),
                100 * TrainedMnist.accuracy(cnn));
    }

    /**
     * On the ComputationGraph 784-256-10: RTN, CLAQ, and AWQ, whose scales of "digit" are folded into "hidden"'s rows
     * and bias, so that "hidden" computes in the scaled domain and the float graph's own pre-activations are
     * comparable at the logits only.
     */
    @Test
    void onAComputationGraphRtnClaqAndAwqGetTheFloatMeans() {
        ComputationGraph graph = TrainedMnist.graph();
        ComputationGraph rtn = calibrated(PtqPipeline.builder(new Rtn(), QuantSpec.builder().bits(2).groupSize(128).build()),
                true).build().quantize(graph).network();
        assertRestored("graph rtn int2", Means.of(graph), Means.of(uncorrected(rtn, graph)), Means.of(rtn), "hidden", "digit");
        ComputationGraph claq = calibrated(PtqPipeline.builder(new Claq(ClaqParams.adaptive(2.5))), true).build()
                .quantize(graph).network();
        assertRestored("graph claq 2.5", Means.of(graph), Means.of(uncorrected(claq, graph)), Means.of(claq),
                "hidden", "digit");
        PtqResult<ComputationGraph> awq = calibrated(PtqPipeline.builder(new Awq(), AwqClaqRuns.asym(3)), true).build()
                .quantize(graph);
        assertThat(awq.report().layer("digit/W").note()).contains("1/s folded into hidden/W", "bias corrected");
        assertRestored("graph awq int3", Means.of(graph), null, Means.of(awq.network()), "digit");
    }

    /**
     * A graph whose builder got its vertices in reverse ("digit" before "hidden"): DL4J's {@code getLayers()} then
     * lists "digit" first, but the targets, and so quantization and correction, follow the execution order, and the
     * result is the one of the same graph built in order.
     */
    @Test
    void aGraphBuiltOutOfOrderIsCorrectedInExecutionOrder() {
        ComputationGraph graph = TrainedMnist.graph();
        ComputationGraph reversed = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(7)
                .updater(new Adam(1e-3)).graphBuilder().addInputs("pixels")
                .addLayer("digit", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(256).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "hidden")
                .addLayer("hidden", new DenseLayer.Builder().nIn(784).nOut(256).activation(Activation.RELU).build(), "pixels")
                .setOutputs("digit").build());
        reversed.init();
        for (String layer : new String[] {"hidden", "digit"}) {
            reversed.getLayer(layer).setParams(graph.getLayer(layer).params().dup());
        }
        assertThat(reversed.getLayers()[0].conf().getLayer().getLayerName()).isEqualTo("digit");
        assertThat(Dl4jNetwork.of(reversed).targets()).extracting(t -> t.name()).containsExactly("hidden/W", "digit/W");

        QuantSpec int2 = QuantSpec.builder().bits(2).groupSize(128).build();
        ComputationGraph inOrder = calibrated(PtqPipeline.builder(new Rtn(), int2), true).build().quantize(graph).network();
        ComputationGraph outOfOrder = calibrated(PtqPipeline.builder(new Rtn(), int2), true).build().quantize(reversed)
                .network();
        assertRestored("reversed graph rtn int2", Means.of(graph), null, Means.of(outOfOrder), "hidden", "digit");
        for (String layer : new String[] {"hidden", "digit"}) {
            assertThat(outOfOrder.getLayer(layer).params()).as(layer).isEqualTo(inOrder.getLayer(layer).params());
        }
    }
}
