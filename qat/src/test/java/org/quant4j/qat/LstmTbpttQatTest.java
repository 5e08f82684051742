package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;

/**
 * Truncated BPTT through an LSTM whose output is fake-quantized ({@link QuantizedOutputLstm}): with one segment as
 * long as the sequence it trains exactly as standard backpropagation (observed and LSQ activation grids, STE and LSQ
 * weights); with several segments it trains, and the converted model reproduces the network.
 */
class LstmTbpttQatTest {
    private static final int STEPS = 12;
    private static final QuantSpec W4 = QuantSpec.integer(4, true, Granularity.perChannel());
    private static final QuantSpec A8 = QuantSpec.integer(8, false, Granularity.perTensor());
    private static final QatConfig OBSERVED = QatConfig.builder().weights(W4).activations(A8).build();
    private static final QatConfig LSQ = QatConfig.builder().weights(W4).weightGradient(WeightGradient.LSQ)
            .activations(A8).activationGradient(ActivationGradient.LSQ).build();

    /** LSTM 3 -> 8 -> per-step softmax of 2 classes; truncated BPTT in segments of {@code segment} steps, or standard (0). */
    private static MultiLayerConfiguration lstm(int segment) {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().seed(3).updater(new Adam(1e-2))
                .weightInit(WeightInit.XAVIER).list()
                .layer(new LSTM.Builder().nOut(8).activation(Activation.TANH).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(3, STEPS));
        if (segment > 0) {
            b.backpropType(BackpropType.TruncatedBPTT).tBPTTForwardLength(segment).tBPTTBackwardLength(segment);
        }
        return b.build();
    }

    /** Class of step t: the sign of feature 0 at the step before (needs the recurrence, across segment borders too). */
    private static DataSet data() {
        Nd4j.getRandom().setSeed(17);
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 3, STEPS).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 2, STEPS);
        for (int n = 0; n < 16; n++) {
            for (int t = 0; t < STEPS; t++) {
                boolean positive = t > 0 && x.getDouble(n, 0, t - 1) > 0;
                y.putScalar(new long[] {n, positive ? 1 : 0, t}, 1f);
            }
        }
        return new DataSet(x, y);
    }

    private static MultiLayerNetwork prepared(int segment, QatConfig config, INDArray params) {
        MultiLayerNetwork net = new MultiLayerNetwork(lstm(segment));
        net.init(params.dup(), true);
        Qat.prepare(net, config);
        return net;
    }

    private static double maxDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    @Test
    void oneSegmentAsLongAsTheSequenceTrainsAsStandardBackprop() {
        DataSet data = data();
        MultiLayerNetwork fresh = new MultiLayerNetwork(lstm(0));
        fresh.init();
        INDArray init = fresh.params().dup();
        for (QatConfig config : new QatConfig[] {OBSERVED, LSQ}) {
            MultiLayerNetwork standard = prepared(0, config, init);
            MultiLayerNetwork truncated = prepared(STEPS, config, init);
            assertThat(truncated.getLayer(0)).isInstanceOf(QuantizedOutputLstm.class);
            for (int i = 0; i < 6; i++) {
                standard.fit(data);
                truncated.fit(data);
            }
            assertThat(maxDiff(truncated.params(), standard.params())).as(config.toString()).isLessThanOrEqualTo(1e-6);
            assertThat(maxDiff(truncated.output(data.getFeatures()), standard.output(data.getFeatures())))
                    .as(config.toString()).isLessThanOrEqualTo(1e-6);
        }
    }

    /**
     * Segments of 4 of the 12 steps (the state carried across segment borders, the gradient cut there): the QAT
     * network (int4 weights, observed uint8 LSTM output) learns the task, and its converted model reproduces it.
     * Measured once on this task after 60 updates: fp32 8.00 → 2.85 (standard BPTT) and 4.09 (truncated); QAT 4.03
     * (standard) and 6.18 (truncated): truncation costs QAT about what it costs fp32.
     */
    @Test
    void segmentsOfFourStepsTrainAndConvert() {
        DataSet data = data();
        MultiLayerNetwork architecture = new MultiLayerNetwork(lstm(4));
        architecture.init();
        MultiLayerNetwork net = prepared(4, OBSERVED, architecture.params());
        double before = net.score(data);
        for (int i = 0; i < 60; i++) {
            net.fit(data);
        }
        double after = net.score(data);
        System.out.printf("tbptt 4 of %d steps, QAT int4 weights + observed uint8 LSTM output: loss %.4f -> %.4f%n",
                STEPS, before, after);
        assertThat(after).isLessThan(0.85 * before);
        MultiLayerNetwork loaded = Qat.load(Qat.convert(net), architecture);
        assertThat(maxDiff(loaded.output(data.getFeatures()), net.output(data.getFeatures()))).isLessThanOrEqualTo(1e-5);
    }
}
