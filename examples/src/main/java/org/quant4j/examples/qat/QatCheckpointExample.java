package org.quant4j.examples.qat;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.listeners.CheckpointListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.model.zoo.MnistMlp;
import org.quant4j.qat.Qat;
import org.quant4j.qat.QatConfig;

/**
 * QAT with DL4J's own checkpoints, on the real MNIST digits the build cached: the MLP 784-1024-1024-10 is trained one
 * epoch in fp32, prepared for 4-bit per-channel weights and uint8 activations, and trained one QAT epoch with a
 * {@link CheckpointListener}. The "crashed" run is then resumed from the last checkpoint: restored by DL4J,
 * re-armed by {@link Qat#rearm}, it computes what the live network computes, and both train one more epoch to the
 * same parameters. The resumed network is converted to real 4-bit weights and evaluated.
 *
 * <pre>
 * bin/example qat.QatCheckpointExample [checkpoint-dir]
 * </pre>
 */
public final class QatCheckpointExample {
    private static final long SEED = 7;
    private static final int BATCH = 64;

    private QatCheckpointExample() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("quant4j-qat-checkpoints");
        run(dir, System.out);
    }

    /** Trains, checkpoints into {@code dir}, resumes and prints what it compares. */
    public static void run(Path dir, PrintStream out) throws IOException {
        Files.createDirectories(dir);
        MnistDigits digits = MnistDigits.load();
        MultiLayerNetwork net = MnistMlp.network(SEED);
        net.fit(digits.train().shuffledIterator(BATCH, SEED));
        out.printf(Locale.ROOT, "fp32 after 1 epoch:           %.2f%%%n", accuracy(net, digits));

        Qat.prepare(net, QatConfig.builder()
                .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                .build());
        net.addListeners(new CheckpointListener.Builder(dir.toFile()).saveEveryEpoch().keepLast(2).build());
        net.fit(digits.train().shuffledIterator(BATCH, SEED + 1));
        out.printf(Locale.ROOT, "QAT int4/uint8 after 1 epoch: %.2f%% (checkpoints in %s)%n", accuracy(net, digits), dir);

        // The training process ends here; a new one resumes from the last checkpoint DL4J wrote.
        MultiLayerNetwork resumed = Qat.rearm(CheckpointListener.loadLastCheckpointMLN(dir.toFile()));
        INDArray test = digits.test().features();
        out.printf(Locale.ROOT, "restored vs live output:      max |difference| %.2e%n", maxDifference(resumed.output(test),
                net.output(test)));

        net.fit(digits.train().shuffledIterator(BATCH, SEED + 2));
        resumed.fit(digits.train().shuffledIterator(BATCH, SEED + 2));
        out.printf(Locale.ROOT, "one more epoch, live:         %.2f%%%n", accuracy(net, digits));
        out.printf(Locale.ROOT, "one more epoch, resumed:      %.2f%% (parameters max |difference| %.2e)%n",
                accuracy(resumed, digits), maxDifference(resumed.params(), net.params()));

        QuantizedModel model = Qat.convert(resumed);
        MultiLayerNetwork deployed = Qat.load(model, MnistMlp.configuration(SEED, 1e-3));
        out.printf(Locale.ROOT, "converted to 4-bit weights:   %.2f%% (%,d bytes stored, fp32 %,d)%n",
                accuracy(deployed, digits), model.storedBytes(), model.fp32Bytes());
    }

    private static double accuracy(MultiLayerNetwork net, MnistDigits digits) {
        return 100 * net.evaluate(digits.test().iterator(500)).accuracy();
    }

    private static double maxDifference(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }
}
