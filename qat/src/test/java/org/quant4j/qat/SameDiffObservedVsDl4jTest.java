package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.observer.MovingAverageMinMaxObserver;
import org.quant4j.calibration.observer.PercentileObserver;
import org.quant4j.calibration.observer.RangeObserver;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.qat.samediff.ObserverOptions;
import org.quant4j.qat.samediff.SameDiffQat;

/**
 * A SameDiff observed activation quantizer against the DL4J path's {@link ObservedActivationQuantizer} fed the
 * same batches: the same fake-quantized values and the same clipped-STE gradient ({@code backward}), element for
 * element, and the stored grid equals the DL4J quantizer's {@link AffineGrid}.
 */
class SameDiffObservedVsDl4jTest {
    @Test
    void forwardAndClippedSteGradientEqualTheDl4jQuantizer() {
        Random r = new Random(17);
        QatConfig config = QatConfig.builder().averagingConstant(0.3f).percentile(99.5).histogramBins(256).build();
        for (ObserverKind kind : new ObserverKind[] {ObserverKind.MOVING_AVERAGE_MIN_MAX, ObserverKind.PERCENTILE}) {
            for (QuantSpec spec : new QuantSpec[] {QuantSpec.integer(8, false, Granularity.perTensor()),
                    QuantSpec.integer(4, true, Granularity.perTensor())}) {
                IntGrid grid = IntGrid.of(spec);
                RangeObserver observer = kind == ObserverKind.PERCENTILE
                        ? new PercentileObserver(config.percentile(), config.histogramBins(), -1)
                        : new MovingAverageMinMaxObserver(config.averagingConstant(), -1);
                ObservedActivationQuantizer dl4j = new ObservedActivationQuantizer(grid, observer, ActivationGradient.CLIPPED_STE);

                SameDiff sd = SameDiff.create();
                SDVariable a = sd.var("a", Nd4j.zeros(DataType.FLOAT, 30, 40));
                SameDiffQat qat = SameDiffQat.of(sd);
                SDVariable fq = qat.fakeQuantActivation(a, spec, kind, ObserverOptions.of(config));
                INDArray c = Nd4j.randn(DataType.FLOAT, 30, 40);
                sd.setLossVariables(fq.mul(sd.constant(c)).sum());
                int clipped = 0;
                for (int k = 0; k < 5; k++) {
                    float[] x = new float[30 * 40];
                    for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (1 + k) + 0.2 * k);
                    INDArray batch = Nd4j.create(x, new long[] {30, 40}, 'c');
                    a.getArr().assign(batch);
                    qat.observeActivations(Map.of());
                    INDArray expected = dl4j.forward(batch.dup(), true);
                    INDArray got = sd.output(Map.of(), fq.name()).get(fq.name());
                    assertThat(got.dup('c').data().asFloat()).as("%s %s batch %d", kind, spec.shortName(), k)
                            .containsExactly(expected.dup('c').data().asFloat());
                    INDArray grad = sd.calculateGradients(Map.of(), "a").get("a");
                    INDArray expectedGrad = dl4j.backward(batch, c);
                    // equal values; the clipped elements are ε·0 = ±0 in DL4J and +0 in SameDiff
                    assertThat(plusZero(grad)).as("%s %s gradient %d", kind, spec.shortName(), k)
                            .containsExactly(plusZero(expectedGrad));
                    clipped += expectedGrad.eq(0.0).castTo(DataType.INT32).sumNumber().intValue();
                }
                assertThat(clipped).as("%s %s: elements clipped", kind, spec.shortName()).isGreaterThan(50);
                AffineGrid g = dl4j.grid();
                float[] stored = qat.convert().floatTensors().get("a" + SameDiffQat.ACTIVATION_SUFFIX).data();
                assertThat(stored).containsExactly(g.scale(), g.zero(), g.offset());
            }
        }
    }

    private static float[] plusZero(INDArray a) {
        float[] v = a.dup('c').data().asFloat();
        for (int i = 0; i < v.length; i++) v[i] += 0f;
        return v;
    }
}
