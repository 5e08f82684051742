package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;

/** Conv+BN folding on a small network and random data: the folded weight's grid, frozen statistics, exact reload. */
class ConvBnFoldingTest {
    static MultiLayerConfiguration configuration() {
        return new NeuralNetConfiguration.Builder().seed(9).updater(new Adam(1e-2)).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.IDENTITY).name("conv").build())
                .layer(new BatchNormalization.Builder().name("bn").build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).name("relu").build())
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).name("out").build())
                .setInputType(InputType.convolutional(8, 8, 2)).build();
    }

    private static INDArray inputs(long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, 16, 2, 8, 8);
    }

    private static INDArray labels() {
        INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 3);
        for (int i = 0; i < 16; i++) {
            y.putScalar(i, i % 3, 1f);
        }
        return y;
    }

    /** A fresh network fitted once, which moves the BN statistics away from their initial values. */
    private static MultiLayerNetwork fittedOnce(INDArray x, INDArray y) {
        MultiLayerNetwork net = new MultiLayerNetwork(configuration());
        net.init();
        net.fit(new DataSet(x, y));
        return net;
    }

    @Test
    void foldedWeightLiesOnTheGridOfWTimesGammaOverSigmaAndReloadIsExact() {
        INDArray x = inputs(5);
        INDArray y = labels();
        MultiLayerNetwork net = fittedOnce(x, y);
        Qat.prepare(net, QatConfig.builder().weights(QuantSpec.integer(3, true, Granularity.perChannel()))
                .activations(QuantSpec.integer(8, false, Granularity.perTensor())).freezeBnStatsAfter(4).build());
        BaseLayer conv = (BaseLayer) net.getLayer(0).conf().getLayer();
        assertThat(conv.getWeightNoise()).isInstanceOf(FoldedConvWeightNoise.class);
        assertThat(net.getLayer(1)).isInstanceOf(QatBatchNormalization.class);
        assertThat(net.getLayer("bn")).isSameAs(net.getLayer(1)); // the name map follows the replacement
        INDArray meanBeforeQat = net.getLayer(1).getParam("mean").dup();
        INDArray meanAtFreeze = null;
        for (int i = 1; i < 7; i++) {
            net.fit(new DataSet(x, y));
            if (i == 4) {
                meanAtFreeze = net.getLayer(1).getParam("mean").dup();
            }
        }
        assertThat(meanAtFreeze).as("statistics update before the freeze").isNotEqualTo(meanBeforeQat);
        assertThat(net.getLayer(1).getParam("mean")).as("and not after it").isEqualTo(meanAtFreeze);

        // training passes use fq(W·s)/s, inference passes the folded fq(W·s): a 3-bit grid per output channel
        FoldedConvWeightNoise noise = (FoldedConvWeightNoise) conv.getWeightNoise();
        INDArray training = noise.getParameter(net.getLayer(0), "W", 0, 0, true, LayerWorkspaceMgr.noWorkspaces());
        INDArray gridded = noise.getParameter(net.getLayer(0), "W", 0, 0, false, LayerWorkspaceMgr.noWorkspaces())
                .reshape('c', 4, 18);
        assertThat(noise.scaledWeight(training.reshape('c', 4, 18)).sub(gridded).amaxNumber().doubleValue())
                .isLessThanOrEqualTo(1e-5);
        for (int o = 0; o < 4; o++) {
            float[] row = gridded.getRow(o).toFloatVector();
            assertThat(java.util.stream.IntStream.range(0, row.length).mapToObj(k -> row[k]).distinct().count())
                    .isLessThanOrEqualTo(8);
        }

        QuantizedModel model = Qat.convert(net);
        assertThat(model.quantizedTensors()).containsOnlyKeys("conv/W", "out/W");
        assertThat(model.floatTensors()).containsKeys("conv/b", "relu/activation").doesNotContainKeys("bn/gamma", "bn/mean");
        assertThat(model.quantizedTensors().get("conv/W").dequantize().reshape('c', 4, 18).sub(gridded)
                .amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-6);
        MultiLayerNetwork loaded = Qat.load(model, configuration());
        assertThat(loaded.getLayer(1).conf().getLayer()).isInstanceOf(ActivationLayer.class);
        assertThat(net.output(x, false).sub(loaded.output(x, false)).amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-5);
    }

    /** LSQ's learned steps on the folded weight {@code W·γ/σ}: they train, the weight stays on their grid, reload is exact. */
    @Test
    void learnedStepSizesTrainOnTheFoldedWeightAndReloadIsExact() {
        INDArray x = inputs(6);
        INDArray y = labels();
        MultiLayerNetwork net = fittedOnce(x, y);
        Qat.prepare(net, QatConfig.builder().weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .weightGradient(WeightGradient.LSQ).activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                .freezeBnStatsAfter(4).build());
        FoldedConvWeightNoise noise = (FoldedConvWeightNoise) ((BaseLayer) net.getLayer(0).conf().getLayer()).getWeightNoise();
        LsqWeightQuantizer lsq = (LsqWeightQuantizer) noise.inner().quantizer();
        net.fit(new DataSet(x, y)); // the first pass initialises the steps from the folded weight
        float[] initial = lsq.storedSteps();
        for (int i = 0; i < 8; i++) {
            net.fit(new DataSet(x, y));
        }
        float[] learned = lsq.storedSteps();
        assertThat(learned).hasSize(4).isNotEqualTo(initial);

        // the folded inference weight: integers in [-8, 7] times each output channel's learned step
        INDArray folded = noise.getParameter(net.getLayer(0), "W", 0, 0, false, LayerWorkspaceMgr.noWorkspaces())
                .reshape('c', 4, 18);
        for (int o = 0; o < 4; o++) {
            for (float v : folded.getRow(o).toFloatVector()) {
                float code = v / learned[o];
                assertThat(code).isBetween(-8f, 7f);
                assertThat((double) Math.abs(code - Math.round(code))).isLessThan(1e-3);
            }
        }
        QuantizedModel model = Qat.convert(net);
        assertThat(model.quantizedTensors().get("conv/W").dequantize().reshape('c', 4, 18).sub(folded)
                .amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-6);
        MultiLayerNetwork loaded = Qat.load(model, configuration());
        assertThat(net.output(x, false).sub(loaded.output(x, false)).amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-5);
    }
}
