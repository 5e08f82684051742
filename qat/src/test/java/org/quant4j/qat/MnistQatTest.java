package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.model.zoo.MnistMlp;

/**
 * QAT on real MNIST: the MLP 784-1024-1024-10 trained in fp32, then prepared with int4 per-channel
 * weights and int8 activations and fine-tuned one epoch, stays within one point of its fp32 accuracy
 * on the 2,000 test digits, where the same int4/int8 network without fine-tuning (round-to-nearest
 * weights, ranges observed on the first training batches) is measured for comparison.
 */
class MnistQatTest {
    @Test
    void int4WeightsInt8ActivationsMlpStaysCloseToFp32() {
        MnistDigits digits = MnistDigits.load();
        MultiLayerNetwork net = MnistMlp.network(7);
        net.fit(digits.train().shuffledIterator(64, 7), 2);
        double fp32 = net.evaluate(digits.test().iterator(500)).accuracy();

        Qat.prepare(net, QatConfig.builder()
                .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                .observer(ObserverKind.MOVING_AVERAGE_MIN_MAX)
                .freezeObserversAfter(100)
                .build());
        double untuned = net.evaluate(digits.test().iterator(500)).accuracy(); // int4 weights, float acts (no range yet)
        net.setLearningRate(2e-4);
        long t0 = System.nanoTime();
        net.fit(digits.train().shuffledIterator(64, 8), 1);
        double qat = net.evaluate(digits.test().iterator(500)).accuracy();
        System.out.printf("MLP fp32 %.4f, int4-weights before fine-tuning %.4f, QAT int4/int8 %.4f (QAT epoch %.1f s)%n",
                fp32, untuned, qat, (System.nanoTime() - t0) / 1e9);
        assertThat(fp32).isGreaterThan(0.93);
        assertThat(qat).isGreaterThan(fp32 - 0.01);
    }
}
