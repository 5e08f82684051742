package org.quant4j.ptq.pipeline;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.ptq.rtn.Rtn;

/**
 * A layer whose weights are too small for FP16 scales would quantize to all zeros and lose the layer silently; the
 * runner refuses it before writing anything, naming the layer and the scale encoding that keeps it.
 */
class PtqPipelineTinyWeightsTest {
    @Test
    void aLayerThatWouldQuantizeToZerosIsRefusedNamingTheEncodingThatKeepsIt() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new DenseLayer.Builder().nIn(64).nOut(32).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(32).nOut(4)
                        .activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        net.getLayer(0).getParam("W").muli(1e-9);
        PtqPipeline p = PtqPipeline.builder(new Rtn(), QuantSpec.builder().bits(4).groupSize(32).build()).build();
        assertThatThrownBy(() -> p.quantize(net)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContainingAll("layer0/W", "every value quantizes to 0", "--scale-encoding fp32");
    }
}
