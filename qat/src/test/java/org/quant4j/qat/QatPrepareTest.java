package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.zoo.LeNet5;

class QatPrepareTest {
    private static final QatConfig INT4_INT8 = QatConfig.builder()
            .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
            .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
            .freezeObserversAfter(100)
            .build();

    @Test
    void leNetGetsWeightAndActivationFakeQuantExceptOnPoolingAndSoftmax() {
        MultiLayerNetwork net = Qat.prepare(LeNet5.network(1), INT4_INT8);
        for (int i : new int[] {0, 2, 4, 5, 6}) {
            BaseLayer conf = (BaseLayer) net.getLayer(i).conf().getLayer();
            assertThat(conf.getWeightNoise()).as("layer %d", i).isInstanceOf(FakeQuantWeightNoise.class);
            if (i < 6) {
                assertThat(conf.getActivationFn()).isInstanceOf(FakeQuantActivation.class);
                assertThat(((FakeQuantActivation) conf.getActivationFn()).inner()).isInstanceOf(ActivationReLU.class);
            }
        }
        assertThat(((BaseLayer) net.getLayer(6).conf().getLayer()).getActivationFn()).isInstanceOf(ActivationSoftmax.class);
    }

    @Test
    void floatLayersAreLeftAlone() {
        MultiLayerNetwork net = Qat.prepare(LeNet5.network(1), QatConfig.builder().weights(INT4_INT8.weights()).activations(INT4_INT8.activations()).floatLayers(0, 6).build());
        assertThat(((BaseLayer) net.getLayer(0).conf().getLayer()).getWeightNoise()).isNull();
        assertThat(((BaseLayer) net.getLayer(0).conf().getLayer()).getActivationFn()).isInstanceOf(ActivationReLU.class);
        assertThat(((BaseLayer) net.getLayer(6).conf().getLayer()).getWeightNoise()).isNull();
        assertThat(((BaseLayer) net.getLayer(2).conf().getLayer()).getWeightNoise()).isNotNull();
    }

    @Test
    void unsupportedLayerIsNamedWithTheSupportedListAndNothingChanges() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nOut(4).activation(Activation.RELU).build())
                .layer(new BatchNormalization.Builder().name("bn1").build())
                .layer(new OutputLayer.Builder().nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(3)).build());
        net.init();
        assertThatThrownBy(() -> Qat.prepare(net, INT4_INT8))
                .isInstanceOf(UnsupportedLayerException.class)
                .hasMessageContaining("layer 1 (BatchNormalization 'bn1')")
                .hasMessageContaining("DenseLayer, OutputLayer, RnnOutputLayer, ConvolutionLayer")
                .hasMessageContaining("BatchNormalization (directly after a ConvolutionLayer");
        assertThat(((BaseLayer) net.getLayer(0).conf().getLayer()).getWeightNoise()).isNull();
    }

    @Test
    void groupSizeMustDivideEveryLayersInputWidth() {
        QatConfig g7 = QatConfig.builder().weights(QuantSpec.integer(4, true, Granularity.perGroup(7))).build();
        assertThatThrownBy(() -> Qat.prepare(LeNet5.network(1), g7))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("layer 0 (ConvolutionLayer").hasMessageContaining("input width 25");
    }

    @Test
    void configRoundTripsThroughJsonAndRefusesImpossibleSettings() {
        assertThat(QatConfig.fromJson(INT4_INT8.toJson())).isEqualTo(INT4_INT8);
        assertThat(INT4_INT8.toJson()).contains("\"weights\":{\"format\":\"INT\",\"bits\":4");
        assertThatThrownBy(() -> QatConfig.builder().activations(QuantSpec.integer(8, false, Granularity.perChannel())).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("per tensor");
        assertThatThrownBy(() -> QatConfig.builder().weights(QuantSpec.nf4(true)).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("nf4-dq");
        assertThatThrownBy(() -> QatConfig.fromJson("{\"weights\": {\"bits\": 1, \"symmetric\": false}}"))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("bits must be 2..8, got 1");
        assertThatThrownBy(() -> QatConfig.fromJson("{\"weights\": {\"bits\": 1}}"))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("bits");
    }
}
