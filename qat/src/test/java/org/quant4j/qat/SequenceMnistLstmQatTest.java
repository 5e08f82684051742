package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.model.data.MnistDigits;

/**
 * Sequence MNIST (each digit read as 28 time steps of 28 pixels, one image row per step) with an LSTM in a
 * ComputationGraph (LSTM 32 -> last time step -> softmax): 60 fp32 steps (batch 32, Adam 1e-2), then 20 QAT steps
 * with int4 per-channel LSTM and output weights (W, RW: one scale per gate unit) and int8 activations (the LSTM
 * output sequence), converted to a model file, read back and rebuilt: the rebuilt graph reproduces the fake-quant
 * graph on the 2,000 test digits. DL4J's LSTM is slow on CPU (per-time-step ops), hence the short run; measured
 * under heavy machine load: fp32 0.61, QAT 0.662, reloaded 0.662, max difference 0.
 */
class SequenceMnistLstmQatTest {
    private static final int BATCH = 32;
    private static final long START = System.nanoTime();

    static ComputationGraphConfiguration configuration(long seed, double learningRate) {
        return new NeuralNetConfiguration.Builder().seed(seed).updater(new Adam(learningRate)).weightInit(WeightInit.XAVIER)
                .graphBuilder()
                .addInputs("rows")
                .setInputTypes(InputType.recurrent(MnistDigits.SIDE, MnistDigits.SIDE))
                .addLayer("lstm", new LSTM.Builder().nOut(32).activation(Activation.TANH).build(), "rows")
                .addVertex("last", new LastTimeStepVertex("rows"), "lstm")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(MnistDigits.CLASSES)
                        .activation(Activation.SOFTMAX).build(), "last")
                .setOutputs("out").build();
    }

    /** {@code [n, 784]} pixels as {@code [n, 28 features, 28 steps]}: step t is image row t. */
    static INDArray rows(INDArray pixels) {
        return pixels.reshape('c', pixels.size(0), MnistDigits.SIDE, MnistDigits.SIDE).permute(0, 2, 1).dup('c');
    }

    static void fit(ComputationGraph graph, DataSetIterator it, int iterations) {
        for (int i = 0; i < iterations; i++) {
            if (!it.hasNext()) {
                it.reset();
            }
            DataSet d = it.next();
            graph.fit(new DataSet(rows(d.getFeatures()), d.getLabels()));
            if (i % 10 == 9) {
                System.out.printf("  iteration %d, score %.4f, %.1f s%n", i + 1, graph.score(), (System.nanoTime() - START) / 1e9);
            }
        }
    }

    static double accuracy(INDArray probabilities, INDArray oneHot) {
        INDArray predicted = probabilities.argMax(1);
        INDArray truth = oneHot.argMax(1);
        return predicted.eq(truth).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().doubleValue() / truth.length();
    }

    @Test
    void int4Int8LstmTrainsConvertsAndReloadsExactly(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        MnistDigits digits = MnistDigits.load();
        INDArray x = rows(digits.test().features());
        INDArray y = digits.test().oneHotLabels();
        ComputationGraph graph = new ComputationGraph(configuration(5, 1e-2));
        graph.init();
        fit(graph, digits.train().shuffledIterator(BATCH, 11), 60);
        double fp32 = accuracy(graph.outputSingle(x), y);

        Qat.prepare(graph, QatConfig.builder()
                .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                .freezeObserversAfter(15)
                .build());
        assertThat(graph.getLayer("lstm")).isInstanceOf(QuantizedOutputLstm.class);
        graph.setLearningRate(2e-3);
        fit(graph, digits.train().shuffledIterator(BATCH, 12), 20);
        INDArray fakeQuant = graph.outputSingle(x);
        double qat = accuracy(fakeQuant, y);

        QuantizedModel model = Qat.convert(graph);
        Path file = dir.resolve("lstm.q4j");
        ModelFileWriter.write(file, model);
        ComputationGraph loaded = Qat.load(ModelFileReader.read(file), configuration(5, 1e-2));
        INDArray reloadedOut = loaded.outputSingle(x);
        double diff = fakeQuant.sub(reloadedOut).amaxNumber().doubleValue();
        double reloaded = accuracy(reloadedOut, y);
        System.out.printf("seq-MNIST LSTM int4/int8 (graph): fp32 %.4f, QAT %.4f, reloaded %.4f, max diff %s, %d -> %d bytes, %.1f s%n",
                fp32, qat, reloaded, diff, model.fp32Bytes(), model.storedBytes(), (System.nanoTime() - t0) / 1e9);

        assertThat(model.quantizedTensors()).containsOnlyKeys("lstm/W", "lstm/RW", "out/W");
        assertThat(model.quantizedTensors().get("lstm/RW").shape()).containsExactly(4 * 32, 32);
        assertThat(model.floatTensors()).containsKeys("lstm/b", "out/b", "lstm/activation").doesNotContainKey("out/activation");
        assertThat(diff).isLessThanOrEqualTo(1e-5);
        assertThat(reloaded).isEqualTo(qat);
        assertThat(fp32).isGreaterThan(0.5); // 60 steps of batch 32: far from converged (chance: 0.1)
        assertThat(qat).isGreaterThan(fp32 - 0.05);
    }
}
