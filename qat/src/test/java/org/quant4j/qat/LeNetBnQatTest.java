package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.model.data.MnistDigits;

/**
 * LeNet with BatchNormalization (conv -> BN -> ReLU -> pool, twice) on real MNIST: fp32 training, QAT with the BN
 * statistics folded into the int8 per-channel convolution weights (PyTorch's ConvBn2d), the statistics frozen for the
 * last QAT iterations, int8 activations; converted, written, read, rebuilt without BN layers: the rebuilt network
 * reproduces the fake-quant network on the 2,000 test digits. Measured (60 fp32 + 50 QAT steps, batch 64, under
 * machine load): fp32 0.9125, QAT 0.9255, reloaded 0.9255, max output difference 0.
 */
class LeNetBnQatTest {
    static MultiLayerConfiguration configuration(long seed, double learningRate) {
        return new NeuralNetConfiguration.Builder().seed(seed).updater(new Adam(learningRate)).weightInit(WeightInit.XAVIER)
                .list()
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(8).hasBias(false).activation(Activation.IDENTITY).name("conv1").build())
                .layer(new BatchNormalization.Builder().name("bn1").build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).name("relu1").build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(16).activation(Activation.IDENTITY).name("conv2").build())
                .layer(new BatchNormalization.Builder().name("bn2").build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).name("relu2").build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(64).activation(Activation.RELU).name("fc").build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX)
                        .name("out").build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1)).build();
    }

    @Test
    void foldedConvBnTrainsFreezesConvertsAndReloadsWithoutBn(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        MnistDigits digits = MnistDigits.load();
        MultiLayerNetwork net = new MultiLayerNetwork(configuration(3, 2e-3));
        net.init();
        MnistQatRun.fit(net, digits.train().shuffledIterator(MnistQatRun.BATCH, 7), 60);
        double fp32 = MnistQatRun.accuracy(net, digits);

        int freezeAt = 60 + 30;
        Qat.prepare(net, QatConfig.builder()
                .weights(QuantSpec.integer(8, true, Granularity.perChannel()))
                .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                .freezeObserversAfter(60 + 30)
                .freezeBnStatsAfter(freezeAt)
                .build());
        assertThat(net.getLayer(1)).isInstanceOf(QatBatchNormalization.class);
        net.setLearningRate(5e-4);
        DataSetIterator it = digits.train().shuffledIterator(MnistQatRun.BATCH, 8);
        MnistQatRun.fit(net, it, 30);
        INDArray meanBefore = net.getLayer(1).getParam("mean").dup();
        INDArray gammaBefore = net.getLayer(1).getParam("gamma").dup();
        MnistQatRun.fit(net, it, 20);
        assertThat(((QatBatchNormalization) net.getLayer(1)).frozen()).isTrue();
        assertThat(net.getLayer(1).getParam("mean")).as("running mean frozen").isEqualTo(meanBefore);
        assertThat(net.getLayer(1).getParam("gamma")).as("gamma still trains").isNotEqualTo(gammaBefore);
        double qat = MnistQatRun.accuracy(net, digits);

        QuantizedModel model = Qat.convert(net);
        Path file = dir.resolve("lenet-bn.q4j");
        ModelFileWriter.write(file, model);
        MultiLayerNetwork loaded = Qat.load(ModelFileReader.read(file), configuration(3, 2e-3));
        INDArray x = digits.test().features();
        double diff = net.output(x, false).sub(loaded.output(x, false)).amaxNumber().doubleValue();
        double reloaded = MnistQatRun.accuracy(loaded, digits);
        System.out.printf("LeNet-BN int8/int8 folded: fp32 %.4f, QAT %.4f, reloaded %.4f, max diff %s, %d -> %d bytes, %.1f s%n",
                fp32, qat, reloaded, diff, model.fp32Bytes(), model.storedBytes(), (System.nanoTime() - t0) / 1e9);

        assertThat(model.metadata().get(QatConversion.FOLDED_KEY)).isEqualTo("bn1=conv1,bn2=conv2");
        assertThat(model.floatTensors().keySet()).noneMatch(k -> k.startsWith("bn"));
        assertThat(model.floatTensors()).containsKeys("conv1/b", "conv2/b", "relu1/activation", "relu2/activation");
        for (org.deeplearning4j.nn.api.Layer l : loaded.getLayers()) {
            assertThat(l.conf().getLayer()).isNotInstanceOf(BatchNormalization.class);
        }
        assertThat(diff).isLessThanOrEqualTo(1e-5);
        assertThat(reloaded).isEqualTo(qat);
        assertThat(fp32).isGreaterThan(0.85);
        assertThat(qat).isGreaterThan(fp32 - 0.03);
    }
}
