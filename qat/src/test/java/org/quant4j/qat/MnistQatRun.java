package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.model.data.MnistDigits;

/**
 * A short real-MNIST QAT run shared by the network tests: fp32 training for some iterations, prepare,
 * QAT for some more, convert, write and read the model file, rebuild, and compare on the 2,000 test digits.
 */
record MnistQatRun(double fp32, double qat, double reloaded, double maxAbsDiff, QuantizedModel model, double seconds) {
    static final int BATCH = 64;

    static MnistQatRun run(MultiLayerNetwork net, MultiLayerConfiguration architecture, QatConfig config,
                           int fp32Iterations, int qatIterations, double qatLearningRate, Path dir) throws Exception {
        long t0 = System.nanoTime();
        MnistDigits digits = MnistDigits.load();
        fit(net, digits.train().shuffledIterator(BATCH, 7), fp32Iterations);
        double fp32 = accuracy(net, digits);
        Qat.prepare(net, config);
        net.setLearningRate(qatLearningRate);
        fit(net, digits.train().shuffledIterator(BATCH, 8), qatIterations);
        double qat = accuracy(net, digits);

        Path file = dir.resolve("qat.q4j");
        QuantizedModel model = Qat.convert(net);
        ModelFileWriter.write(file, model);
        MultiLayerNetwork loaded = Qat.load(ModelFileReader.read(file), architecture);
        INDArray x = digits.test().features();
        double diff = net.output(x, false).sub(loaded.output(x, false)).amaxNumber().doubleValue();
        return new MnistQatRun(fp32, qat, accuracy(loaded, digits), diff, model, (System.nanoTime() - t0) / 1e9);
    }

    /** {@code iterations} minibatches of {@code it} (at most one epoch). */
    static void fit(MultiLayerNetwork net, DataSetIterator it, int iterations) {
        for (int i = 0; i < iterations; i++) {
            assertThat(it.hasNext()).as("iteration %d of %d fits in one epoch", i, iterations).isTrue();
            net.fit(it.next());
        }
    }

    static double accuracy(MultiLayerNetwork net, MnistDigits digits) {
        return net.evaluate(digits.test().iterator(500)).accuracy();
    }

    void print(String name) {
        System.out.printf("%s: fp32 %.4f, QAT %.4f, reloaded %.4f, max |fake quant - reloaded| = %s, %d -> %d bytes, %.1f s%n",
                name, fp32, qat, reloaded, maxAbsDiff, model.fp32Bytes(), model.storedBytes(), seconds);
    }
}
