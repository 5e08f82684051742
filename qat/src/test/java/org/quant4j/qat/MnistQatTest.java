package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.zoo.MnistMlp;

/**
 * QAT on real MNIST, the MLP 784-1024-1024-10: 80 fp32 iterations (batch 64, 5,120 digits), prepared with
 * int4 per-channel weights and int8 activations, 40 QAT iterations, converted to a model file, read back
 * and rebuilt: the rebuilt network computes exactly what the fake-quant network computed on the 2,000 test
 * digits, and QAT stays close to the fp32 accuracy.
 */
class MnistQatTest {
    @Test
    void int4Int8MlpConvertsToAModelFileThatReproducesTheFakeQuantNetwork(@TempDir Path dir) throws Exception {
        MnistQatRun r = MnistQatRun.run(MnistMlp.network(7), MnistMlp.configuration(1, 1e-3), QatConfig.builder()
                .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                .freezeObserversAfter(30)
                .build(), 80, 40, 2e-4, dir);
        r.print("MLP int4/int8");
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-5);
        assertThat(r.reloaded()).isEqualTo(r.qat());
        assertThat(r.model().quantizedTensors()).containsOnlyKeys("layer0/W", "layer1/W", "layer2/W");
        assertThat(r.model().floatTensors()).containsKeys("layer0/b", "layer0/activation", "layer1/activation");
        assertThat(r.model().storedBytes()).isLessThan(r.model().fp32Bytes() / 6);
        assertThat(r.fp32()).isGreaterThan(0.90);
        assertThat(r.qat()).isGreaterThan(r.fp32() - 0.015);
    }
}
