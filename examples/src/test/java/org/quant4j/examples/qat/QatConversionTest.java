package org.quant4j.examples.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.qat.ObserverKind;
import org.quant4j.qat.Qat;
import org.quant4j.qat.QatConfig;

/**
 * The example's convert / reload step on LeNet-5 (convolution, pooling and dense layers) with real digits:
 * ternary weights (whose QAT grid is core's, absmean per channel) and int8 activations observed on 256 training
 * digits; the network rebuilt from the model file gives the fake-quantized network's outputs, and files that do
 * not fit the network are refused with the tensor or key named.
 */
class QatConversionTest {
    @TempDir
    Path dir;

    @Test
    void reloadedLeNetReproducesTheFakeQuantizedNetwork() throws Exception {
        MnistDigits digits = MnistDigits.load();
        MultiLayerNetwork net = Qat.prepare(MnistExample.LENET.network(3, 1e-3), QatConfig.builder()
                .weights(WeightWidth.TERNARY.spec()).activations(MnistQatExample.INT8_ACTIVATIONS)
                .observer(ObserverKind.MIN_MAX).build());
        INDArray train = digits.train().features().get(NDArrayIndex.interval(0, 256), NDArrayIndex.all());
        net.output(train, true);
        INDArray test = digits.test().features().get(NDArrayIndex.interval(0, 500), NDArrayIndex.all());
        INDArray expected = net.output(test, false);

        Path file = dir.resolve("lenet-ternary.q4j");
        QuantizedModel model = QatConversion.convertAndWrite(net, "LeNet-5", WeightWidth.TERNARY.spec(),
                MnistQatExample.INT8_ACTIVATIONS, file);
        assertThat(model.quantizedTensors()).containsOnlyKeys("layer0/W", "layer2/W", "layer4/W", "layer5/W", "layer6/W");
        assertThat(model.metadata()).containsKeys("activation/0", "activation/2", "activation/4", "activation/5")
                .doesNotContainKey("activation/6");

        MultiLayerNetwork reloaded = QatConversion.read(file, MnistExample.LENET.network(99, 1e-3));
        double maxDiff = Transforms.abs(reloaded.output(test, false).subi(expected)).maxNumber().doubleValue();
        assertThat(maxDiff).isLessThanOrEqualTo(1e-5);

        // without the activation ranges the outputs differ: the stored ranges are what the reload re-inserts
        QuantizedModel weightsOnly = QatConversion.convert(net, "LeNet-5", WeightWidth.TERNARY.spec(), null);
        MultiLayerNetwork floatActs = QatConversion.load(weightsOnly, MnistExample.LENET.network(99, 1e-3));
        assertThat(Transforms.abs(floatActs.output(test, false).subi(expected)).maxNumber().doubleValue())
                .isGreaterThan(1e-5);
    }

    @Test
    void modelsThatDoNotFitTheNetworkAreRefused() throws Exception {
        MultiLayerNetwork mlp = MnistExample.MLP.network(3, 1e-3);
        QuantizedModel mlpModel = QatConversion.convert(mlp, "MLP", WeightWidth.INT8.spec(), null);
        assertThatThrownBy(() -> QatConversion.load(mlpModel, MnistExample.LENET.network(3, 1e-3)))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("layer0/W");

        QuantizedModel badRange = QuantizedModel.builder().metadata("activation/1",
                "{\"bits\":8,\"symmetric\":false,\"min\":1.0,\"max\":-1.0}").build();
        assertThatThrownBy(() -> QatConversion.load(badRange, MnistExample.MLP.network(3, 1e-3)))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("activation/1");
        QuantizedModel badLayer = QuantizedModel.builder().metadata("activation/7", "{}").build();
        assertThatThrownBy(() -> QatConversion.load(badLayer, MnistExample.MLP.network(3, 1e-3)))
                .isInstanceOf(QuantizationException.class).hasMessageContaining("activation/7", "3 layers");

        Path notAModel = dir.resolve("weights.q4j");
        Files.writeString(notAModel, "not a model file");
        assertThatThrownBy(() -> QatConversion.read(notAModel, mlp))
                .isInstanceOf(CorruptFileException.class).hasMessageContaining("weights.q4j");
    }
}
