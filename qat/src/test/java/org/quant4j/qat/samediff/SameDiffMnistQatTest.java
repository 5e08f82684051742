package org.quant4j.qat.samediff;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.model.data.MnistSplit;
import org.quant4j.qat.ActivationGradient;
import org.quant4j.qat.WeightGradient;

/**
 * A SameDiff MLP 784-128-10 on real MNIST (the first 2,000 training digits, 2 epochs of {@code sd.fit}, Adam 3e-3,
 * batch 100), once in fp32 and once with int4 per-channel LSQ weights and an 8-bit LSQ activation after the ReLU
 * (unsigned grid), from the same initial weights. Accuracy on the 2,000 test digits: QAT within 3 points of fp32.
 * Then convert -> the float graph on the dequantized weights gives the fake-quant graph's outputs.
 */
class SameDiffMnistQatTest {
    private static final int TRAIN = 2_000;
    private static final int HIDDEN = 128;

    @Test
    void int4LsqMlpTrainsWithSdFitAndConvertsToTheSameOutputs() {
        MnistDigits digits = MnistDigits.load();
        MnistSplit train = digits.train();
        MnistSplit test = digits.test();
        INDArray x = firstRows(train.features());
        INDArray y = firstRows(train.oneHotLabels());

        long t0 = System.nanoTime();
        SameDiff fp32 = mlp(null, null, null);
        fit(fp32, x, y);
        double fp32Accuracy = accuracy(fp32, test);
        long t1 = System.nanoTime();

        QuantSpec uint8 = QuantSpec.integer(8, false, Granularity.perTensor());
        SameDiff qatGraph = mlp(SameDiffQat::of, WeightGradient.LSQ,
                (qat, h) -> qat.fakeQuantActivation(h, uint8, ActivationGradient.LSQ));
        SameDiffQat qat = SameDiffQat.of(qatGraph);
        assertThat(qat.activationsInitialized()).isFalse();
        fit(qatGraph, x, y);
        assertThat(qat.activationsInitialized()).isTrue();
        double qatAccuracy = accuracy(qatGraph, test);
        long t2 = System.nanoTime();

        QuantizedModel model = qat.convert();
        assertThat(model.quantizedTensors()).containsOnlyKeys("w0", "w1");
        assertThat(model.quantizedTensors().get("w0").shape()).containsExactly(HIDDEN, MnistDigits.PIXELS);
        assertThat(model.floatTensors()).containsOnlyKeys("b0", "b1", "h" + SameDiffQat.ACTIVATION_SUFFIX);
        SameDiff deployed = qat.dequantizedGraph(model);
        assertThat(deployed.getVariable("w0").getArr()).isNotEqualTo(qatGraph.getVariable("w0").getArr());
        INDArray fq = logits(qatGraph, test.features());
        INDArray dq = logits(deployed, test.features());
        double maxAbsDiff = fq.sub(dq).amaxNumber().doubleValue();
        System.out.printf("SameDiff MLP 784-%d-10, %d digits x 2 epochs: fp32 %.4f, int4 LSQ w + uint8 LSQ act %.4f, "
                        + "dequantized graph max |diff| %.2e; fp32 %.1f s, QAT %.1f s, convert+check %.1f s%n", HIDDEN, TRAIN,
                fp32Accuracy, qatAccuracy, maxAbsDiff, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (System.nanoTime() - t2) / 1e9);
        assertThat(maxAbsDiff).isLessThanOrEqualTo(1e-5);
        assertThat(fp32Accuracy).isGreaterThan(0.85);
        assertThat(qatAccuracy).isGreaterThan(fp32Accuracy - 0.03);
        assertThat(model.storedBytes()).isLessThan(model.fp32Bytes() / 6);
    }

    /** The first {@value #TRAIN} rows. */
    static INDArray firstRows(INDArray a) {
        return a.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, TRAIN), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
    }

    /**
     * The MLP; with a QAT builder, int4 per-channel weights trained with {@code weights} (null: float weights) and
     * the hidden ReLU output "h" fake-quantized by {@code activation}.
     */
    static SameDiff mlp(java.util.function.Function<SameDiff, SameDiffQat> qatOf, WeightGradient weights,
                        java.util.function.BiFunction<SameDiffQat, SDVariable, SDVariable> activation) {
        SameDiff sd = SameDiff.create();
        SameDiffQat qat = qatOf == null ? null : qatOf.apply(sd);
        QuantSpec int4 = QuantSpec.integer(4, true, Granularity.perChannel());
        Nd4j.getRandom().setSeed(42);
        SDVariable in = sd.placeHolder("in", DataType.FLOAT, -1, MnistDigits.PIXELS);
        SDVariable label = sd.placeHolder("label", DataType.FLOAT, -1, MnistDigits.CLASSES);
        SDVariable w0 = sd.var("w0", Nd4j.randn(DataType.FLOAT, MnistDigits.PIXELS, HIDDEN).muli(Math.sqrt(2.0 / MnistDigits.PIXELS)));
        SDVariable b0 = sd.var("b0", Nd4j.zeros(DataType.FLOAT, 1, HIDDEN));
        SDVariable w1 = sd.var("w1", Nd4j.randn(DataType.FLOAT, HIDDEN, MnistDigits.CLASSES).muli(Math.sqrt(1.0 / HIDDEN)));
        SDVariable b1 = sd.var("b1", Nd4j.zeros(DataType.FLOAT, 1, MnistDigits.CLASSES));
        SDVariable h = sd.nn().relu("h", in.mmul(qat == null || weights == null ? w0 : qat.fakeQuantWeight(w0, int4, weights)).add(b0), 0);
        if (qat != null) {
            h = activation.apply(qat, h);
        }
        SDVariable logits = sd.identity("logits", h.mmul(qat == null || weights == null ? w1 : qat.fakeQuantWeight(w1, int4, weights)).add(b1));
        sd.loss().softmaxCrossEntropy("loss", label, logits, null);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(3e-3))
                .dataSetFeatureMapping("in").dataSetLabelMapping("label").build());
        return sd;
    }

    static void fit(SameDiff sd, INDArray x, INDArray y) {
        sd.fit(new org.quant4j.model.data.ArrayDataSetIterator(x, y, 100, 7L), 2);
    }

    static INDArray logits(SameDiff sd, INDArray features) {
        return sd.output(Map.of("in", features), "logits").get("logits");
    }

    static double accuracy(SameDiff sd, MnistSplit test) {
        int[] predicted = logits(sd, test.features()).argMax(1).toIntVector();
        int[] labels = test.labels();
        int correct = 0;
        for (int i = 0; i < labels.length; i++) {
            if (predicted[i] == labels[i]) correct++;
        }
        return correct / (double) labels.length;
    }
}
