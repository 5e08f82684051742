package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.calibration.observer.MseObserver;
import org.quant4j.calibration.observer.PercentileObserver;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.zoo.MnistMlp;

/** The histogram observers in {@link QatConfig}: JSON, validation, wiring, and a short real-MNIST QAT run. */
class ObserverConfigTest {
    private static final QuantSpec INT8 = QuantSpec.integer(8, false, Granularity.perTensor());

    @Test
    void histogramObserverSettingsRoundTripThroughJson() {
        QatConfig c = QatConfig.builder().weights(QuantSpec.integer(4, true, Granularity.perChannel())).activations(INT8)
                .observer(ObserverKind.PERCENTILE).percentile(99.9).histogramBins(512).freezeObserversAfter(50).build();
        String json = c.toJson();
        assertThat(json).contains("\"observer\":\"PERCENTILE\"").contains("\"percentile\":99.9").contains("\"histogramBins\":512");
        assertThat(QatConfig.fromJson(json)).isEqualTo(c);
        QatConfig mse = QatConfig.builder().activations(INT8).observer(ObserverKind.MSE).build();
        assertThat(QatConfig.fromJson(mse.toJson())).isEqualTo(mse).isNotEqualTo(c);
        // a config written before these settings existed reads with the defaults
        QatConfig old = QatConfig.fromJson("{\"activations\":" + INT8.toJson() + ",\"observer\":\"MIN_MAX\"}");
        assertThat(old.percentile()).isEqualTo(PercentileObserver.DEFAULT_PERCENTILE);
        assertThat(old.histogramBins()).isEqualTo(2048);
        assertThatThrownBy(() -> QatConfig.builder().percentile(30).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("percentile");
        assertThatThrownBy(() -> QatConfig.builder().histogramBins(2).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("bins");
    }

    @Test
    void prepareInsertsTheConfiguredObserver() {
        MultiLayerNetwork net = Qat.prepare(MnistMlp.network(1), QatConfig.builder().activations(INT8)
                .observer(ObserverKind.MSE).build());
        FakeQuantActivation act = (FakeQuantActivation) ((BaseLayer) net.getLayer(0).conf().getLayer()).getActivationFn();
        assertThat(((ObservedActivationQuantizer) act.quantizer()).observer()).isInstanceOf(MseObserver.class);
    }

    /** MLP 784-1024-1024-10 on real MNIST: 60 fp32 iterations, 30 QAT iterations with the percentile observer. */
    @Test
    void percentileObserverTrainsAndConvertsOnMnist(@TempDir Path dir) throws Exception {
        MnistQatRun r = MnistQatRun.run(MnistMlp.network(7), MnistMlp.configuration(1, 1e-3), QatConfig.builder()
                .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .activations(INT8)
                .observer(ObserverKind.PERCENTILE)
                .freezeObserversAfter(20)
                .build(), 60, 30, 2e-4, dir);
        r.print("MLP int4/int8, percentile observer");
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-5);
        assertThat(r.reloaded()).isEqualTo(r.qat());
        assertThat(r.fp32()).isGreaterThan(0.88);
        assertThat(r.qat()).isGreaterThan(r.fp32() - 0.02);
    }
}
