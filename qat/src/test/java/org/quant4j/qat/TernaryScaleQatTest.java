package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.Quantizer;
import org.quant4j.core.TernaryScale;
import org.quant4j.core.formats.TwnTernary;
import org.quant4j.model.zoo.LeNet5;

/** Ternary weights with TWN's threshold and scale ({@link QatConfig#ternaryScale()}): fake quantization, config, convert. */
class TernaryScaleQatTest {
    private static final QuantSpec TERNARY = QuantSpec.ternary().toBuilder().perChannel().build();
    private static final QatConfig TWN = QatConfig.builder().weights(TERNARY).ternaryScale(TernaryScale.TWN)
            .activations(QuantSpec.integer(8, false, Granularity.perTensor())).build();

    @Test
    void twnFakeQuantizationIsCoresTwnTensorAndDiffersFromAbsmean() {
        Random r = new Random(5);
        float[] data = new float[32 * 6];
        for (int i = 0; i < data.length; i++) data[i] = (float) (0.2 * r.nextGaussian());
        INDArray dl4jW = Nd4j.create(data, new long[] {32, 6}, 'f').castTo(DataType.FLOAT); // Dense [nIn, nOut]
        FakeQuantWeightNoise twn = new FakeQuantWeightNoise("dense", WeightLayout.DENSE, TERNARY, TWN,
                WeightQuantizers.of("dense", TERNARY, TernaryScale.TWN));
        INDArray outIn = dl4jW.transpose().dup('c');
        float[] expected = TwnTernary.quantize("w", outIn.data().asFloat(), outIn.shape(), TERNARY).dequantizeToArray();
        float[] q = twn.fakeQuantize(dl4jW, 0).transpose().dup('c').data().asFloat();
        assertThat(q).containsExactly(expected);
        float[] absmean = Quantizer.quantize("w", outIn, TERNARY).dequantizeToArray();
        assertThat(q).isNotEqualTo(absmean);
        assertThat(twn.quantizer().quantize("w", outIn).dequantizeToArray()).containsExactly(expected);
    }

    @Test
    void configDefaultsToAbsmeanRoundTripsAndRefusesTwnForOtherFormats() {
        assertThat(QatConfig.builder().weights(TERNARY).build().ternaryScale()).isEqualTo(TernaryScale.ABSMEAN);
        assertThat(TWN.toJson()).contains("\"ternaryScale\":\"TWN\"");
        assertThat(QatConfig.fromJson(TWN.toJson())).isEqualTo(TWN);
        assertThat(QatConfig.fromJson(TWN.toJson()).ternaryScale()).isEqualTo(TernaryScale.TWN);
        assertThat(TWN).isNotEqualTo(QatConfig.builder().weights(TERNARY).activations(TWN.activations()).build());
        assertThatThrownBy(() -> QatConfig.builder().weights(QuantSpec.integer(2, true, Granularity.perChannel()))
                .ternaryScale(TernaryScale.TWN).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("TWN").hasMessageContaining("int2-sym-channel");
        assertThatThrownBy(() -> QatConfig.builder().ternaryScale(TernaryScale.TWN).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("float weights");
    }

    /** Real MNIST, LeNet-5, TWN ternary weights and int8 activations: the model file reproduces the fake-quant network. */
    @Test
    void twnLeNetConvertsToAModelFileThatReproducesTheFakeQuantNetwork(@TempDir Path dir) throws Exception {
        MnistQatRun r = MnistQatRun.run(LeNet5.network(3, 2e-3), LeNet5.configuration(1, 1e-3), TWN, 50, 30, 5e-4, dir);
        r.print("LeNet-5 TWN ternary/int8");
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-5);
        assertThat(r.reloaded()).isEqualTo(r.qat());
        assertThat(r.model().quantizedTensors()).hasSize(5);
        assertThat(r.model().quantizedTensors().values()).allSatisfy(t -> assertThat(t.spec().format()).isEqualTo(Format.TERNARY));
        assertThat(r.qat()).isGreaterThan(0.80);
    }
}
