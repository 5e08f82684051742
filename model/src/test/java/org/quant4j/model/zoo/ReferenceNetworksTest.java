package org.quant4j.model.zoo;

import static org.assertj.core.api.Assertions.assertThat;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.evaluation.classification.Evaluation;
import org.quant4j.model.data.MnistDigits;

/**
 * Trains each reference network briefly on the real MNIST digits and checks the accuracy on the
 * 2,000 held-out test digits after one epoch (chance is 0.10). One epoch of batch 64 keeps the suite
 * quick; the longer runs and tighter thresholds live in the QAT and PTQ tests and the demo.
 */
class ReferenceNetworksTest {
    private static final long SEED = 42;

    @Test
    void leNet5HasThePaperShapedLayersAndParameterCount() {
        MultiLayerNetwork net = LeNet5.network(SEED);
        assertThat(net.getnLayers()).isEqualTo(7);
        assertThat(net.numParams()).isEqualTo(61_706);
        assertThat(net.getLayer(0).getParam("W").shape()).containsExactly(6, 1, 5, 5);
        assertThat(net.getLayer(2).getParam("W").shape()).containsExactly(16, 6, 5, 5);
        assertThat(net.getLayer(4).getParam("W").shape()).containsExactly(400, 120);
    }

    @Test
    void mlpIs784x1024x1024x10() {
        MultiLayerNetwork net = MnistMlp.network(SEED);
        assertThat(net.numParams()).isEqualTo(1_863_690);
        assertThat(net.getLayer(1).getParam("W").shape()).containsExactly(1024, 1024);
    }

    @Test
    void leNet5LearnsMnist() {
        assertThat(trainAndTest(LeNet5.network(SEED, 2e-3), 1)).isGreaterThan(0.90);
    }

    @Test
    void mlpLearnsMnist() {
        assertThat(trainAndTest(MnistMlp.network(SEED), 1)).isGreaterThan(0.90);
    }

    static double trainAndTest(MultiLayerNetwork net, int epochs) {
        MnistDigits digits = MnistDigits.load();
        long t0 = System.nanoTime();
        net.fit(digits.train().shuffledIterator(64, SEED), epochs);
        long t1 = System.nanoTime();
        Evaluation eval = net.evaluate(digits.test().iterator(500));
        System.out.printf("%d epochs: train %.1f s, test accuracy %.4f%n", epochs, (t1 - t0) / 1e9, eval.accuracy());
        return eval.accuracy();
    }
}
