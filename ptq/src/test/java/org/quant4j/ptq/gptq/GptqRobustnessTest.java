package org.quant4j.ptq.gptq;

import org.quant4j.ptq.OutputError;
import org.quant4j.ptq.SyntheticLayer;
import org.quant4j.ptq.rtn.Rtn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;

class GptqRobustnessTest {
    private static final QuantSpec INT4_G32 = QuantSpec.integer(4, true, Granularity.perGroup(32));
    private static final SyntheticLayer LAYER = SyntheticLayer.create(9, 64, 128, 512, 32, 2);

    @Test
    void rankDeficientHessianGivesFiniteWeights() {
        LayerStats stats = new LayerStats("fc", 128, 16, 0);
        stats.accumulate("fc", LAYER.calibration().get(NDArrayIndex.interval(0, 20), NDArrayIndex.all())); // rank <= 20
        Gptq.Result result = Gptq.builder().actOrder(true).build().solveDetailed("fc", LAYER.weight(), stats, INT4_G32);
        for (float v : result.tensor().dequantizeToArray()) {
            assertThat(v).isFinite();
        }
        assertThat(result.proxyLoss()).isFinite();
    }

    @Test
    void zeroDampingOnASingularHessianEscalatesInsteadOfProducingNaN() {
        INDArray singular = Nd4j.zeros(DataType.FLOAT, 128, 128);
        INDArray x = LAYER.calibration().get(NDArrayIndex.interval(0, 8), NDArrayIndex.all());
        singular.addi(x.transpose().mmul(x)); // rank 8: the 9th pivot is zero or rounding noise
        Gptq.Result result = Gptq.builder().percDamp(0).build().solveWithHessian("fc", LAYER.weight(), singular, INT4_G32);
        assertThat(result.percDamp()).isGreaterThan(0);
        for (float v : result.tensor().dequantizeToArray()) {
            assertThat(v).isFinite();
        }
    }

    @Test
    void indefiniteHessianEscalatesDampingOrIsReportedNamingTheLayer() {
        Random random = new Random(4);
        INDArray a = Nd4j.create(SyntheticLayer.gaussian(random, 128 * 128, 1f), new long[] {128, 128}, DataType.FLOAT);
        INDArray symmetric = a.add(a.transpose()); // eigenvalues of both signs, diagonal positive after the shift
        symmetric.addi(Nd4j.eye(128).castTo(DataType.FLOAT).muli(8));
        Gptq.Result result = new Gptq().solveWithHessian("fc", LAYER.weight(), symmetric, INT4_G32);
        assertThat(result.percDamp()).isGreaterThan(Gptq.DEFAULT_PERC_DAMP);
        for (float v : result.tensor().dequantizeToArray()) {
            assertThat(v).isFinite();
        }
        assertThatThrownBy(() -> Gptq.builder().maxPercDamp(0.1).build()
                .solveWithHessian("decoder.layers.2.fc1", LAYER.weight(), symmetric, INT4_G32))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("decoder.layers.2.fc1")
                .hasMessageContaining("not positive definite");
    }

    @Test
    void deadInputsGetZeroWeightsAndTheLiveOnesStillBeatRtn() {
        INDArray x = LAYER.calibration().dup();
        int[] deadColumns = {3, 40, 41, 127};
        for (int c : deadColumns) {
            x.getColumn(c).assign(0);
        }
        LayerStats stats = new LayerStats("fc", 128, 256, 0);
        stats.accumulate("fc", x);
        INDArray q = Gptq.builder().actOrder(true).build().solve("fc", LAYER.weight(), stats, INT4_G32).dequantize();
        for (int c : deadColumns) {
            assertThat(q.getColumn(c).amaxNumber().doubleValue()).as("column %d", c).isZero();
        }
        INDArray rtn = new Rtn().solve("fc", LAYER.weight(), null, INT4_G32).dequantize();
        INDArray rows = stats.sampleRows();
        assertThat(OutputError.relative(LAYER.weight(), q, rows)).isLessThan(OutputError.relative(LAYER.weight(), rtn, rows));
    }

    @Test
    void badInputIsReportedNamingTheLayer() {
        LayerStats stats = LAYER.stats("fc");
        INDArray nan = LAYER.weight().dup();
        nan.putScalar(2, 9, Float.NaN);
        assertThatThrownBy(() -> new Gptq().solve("enc.fc", nan, stats, INT4_G32)).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("enc.fc").hasMessageContaining("row 2").hasMessageContaining("column 9");
        assertThatThrownBy(() -> new Gptq().solve("enc.fc", LAYER.weight(), new LayerStats("enc.fc", 128, 4, 0), INT4_G32))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("enc.fc")
                .hasMessageContaining("no calibration rows");
        assertThatThrownBy(() -> new Gptq().solve("enc.fc", LAYER.weight(), null, INT4_G32))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("enc.fc");
        assertThatThrownBy(() -> new Gptq().solve("enc.fc", LAYER.weight().get(NDArrayIndex.all(), NDArrayIndex.interval(0, 96)),
                stats, INT4_G32)).isInstanceOf(InvalidTensorException.class).hasMessageContaining("enc.fc")
                .hasMessageContaining("96 input columns").hasMessageContaining("128 inputs");
        assertThatThrownBy(() -> new Gptq().solve("enc.fc", LAYER.weight(), stats, QuantSpec.nf4(false)))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("enc.fc");
        assertThatThrownBy(() -> new Gptq().solve("enc.fc", LAYER.weight(), stats,
                QuantSpec.integer(4, true, Granularity.perGroup(48)))).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("enc.fc").hasMessageContaining("48");
    }

    @Test
    void sameInputSameBytes() {
        LayerStats stats = LAYER.stats("fc");
        Gptq gptq = Gptq.builder().actOrder(true).build();
        assertThat(gptq.solve("fc", LAYER.weight(), stats, INT4_G32)).isEqualTo(gptq.solve("fc", LAYER.weight(), stats, INT4_G32));
    }
}
