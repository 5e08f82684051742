package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.zoo.LeNet5;

/**
 * QAT on real MNIST, LeNet-5: 50 fp32 iterations (batch 64), then LSQ with int4 per-channel learned
 * weight steps (convolutions and dense layers) and int8 learned activation steps, 30 QAT iterations; converted, written, read, rebuilt: the
 * rebuilt network reproduces the fake-quant network on the 2,000 test digits.
 */
class LeNetQatTest {
    @Test
    void int4Int8LeNetConvertsToAModelFileThatReproducesTheFakeQuantNetwork(@TempDir Path dir) throws Exception {
        MnistQatRun r = MnistQatRun.run(LeNet5.network(3, 2e-3), LeNet5.configuration(1, 1e-3), QatConfig.builder()
                .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .weightGradient(WeightGradient.LSQ)
                .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                .activationGradient(ActivationGradient.LSQ)
                .build(), 50, 30, 5e-4, dir);
        r.print("LeNet-5 LSQ int4/int8");
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-5);
        assertThat(r.reloaded()).isEqualTo(r.qat());
        assertThat(r.model().quantizedTensors()).hasSize(5);
        assertThat(r.fp32()).isGreaterThan(0.80);
        assertThat(r.qat()).isGreaterThan(r.fp32() - 0.03);
    }
}
