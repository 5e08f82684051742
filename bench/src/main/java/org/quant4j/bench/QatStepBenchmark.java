package org.quant4j.bench;

import java.lang.management.ManagementFactory;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.model.data.MnistSplit;
import org.quant4j.model.zoo.LeNet5;
import org.quant4j.model.zoo.MnistMlp;
import org.quant4j.qat.FakeQuantActivation;
import org.quant4j.qat.FakeQuantWeightNoise;
import org.quant4j.qat.Qat;
import org.quant4j.qat.QatConfig;

/**
 * The cost of QAT per training step: one {@code net.fit(batch)} of 64 real MNIST digits (forward, backward,
 * Adam update), fp32 against QAT (int4 per-channel symmetric weights, int8 per-tensor activations,
 * moving-average observers that never freeze, clipped STE) for LeNet-5 and the MLP 784-1024-1024-10.
 * After a warm-up, fp32 and QAT steps alternate in blocks (so load from other processes hits both alike) and
 * the medians are compared. Then, for the QAT network, where the extra time goes: each fake-quant piece
 * timed alone per step (weight fake quantization, activation fake quantization forward and backward, minus
 * the wrapped activation's own cost).
 *
 * <p>Usage: {@code bench/run org.quant4j.bench.QatStepBenchmark [ROUNDS]} (default 20 rounds of 10 steps each).
 */
public final class QatStepBenchmark {
    private static final int BATCH = 64;
    private static final int WARMUP_STEPS = 30;
    private static final int STEPS_PER_BLOCK = 10;
    private static final int PIECE_REPS = 50;

    private QatStepBenchmark() {}

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        System.out.printf("QAT training step benchmark: batch %d, %d steps per network and mode (median)%n", BATCH,
                rounds * STEPS_PER_BLOCK);
        System.out.printf("Machine: %d cores, %s %s, Java %s, %s; load average at start %.2f%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"), System.getProperty("os.arch"),
                System.getProperty("java.version"), LocalDate.now(), loadAverage());
        DataSet batch = firstBatch(MnistDigits.load().train());
        System.out.printf("%n| network | fp32 step (ms) | QAT step (ms) | QAT / fp32 |%n|---|---|---|---|%n");
        StringBuilder breakdown = new StringBuilder();
        for (String name : List.of("LeNet-5", "MLP 784-1024-1024-10")) {
            Supplier<MultiLayerNetwork> make = name.startsWith("LeNet") ? () -> LeNet5.network(7) : () -> MnistMlp.network(7);
            MultiLayerNetwork fp32 = make.get();
            MultiLayerNetwork qat = Qat.prepare(make.get(), QatConfig.builder()
                    .weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                    .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                    .build());
            double[][] times = timeSteps(fp32, qat, batch, rounds);
            double f = median(times[0]);
            double q = median(times[1]);
            System.out.printf(Locale.ROOT, "| %s | %.2f | %.2f | %.2f× |%n", name, f, q, q / f);
            breakdown.append(breakdown(name, qat, batch, q - f));
        }
        System.out.printf("%nload average at end %.2f%n%nWhere the QAT time goes (each piece timed alone, ms per step):%n%s",
                loadAverage(), breakdown);
    }

    private static DataSet firstBatch(MnistSplit train) {
        INDArray x = train.features().get(NDArrayIndex.interval(0, BATCH), NDArrayIndex.all()).dup();
        INDArray y = train.oneHotLabels().get(NDArrayIndex.interval(0, BATCH), NDArrayIndex.all()).dup();
        return new DataSet(x, y);
    }

    /** Per-step milliseconds of {@code a} and {@code b}, alternating blocks after a warm-up. */
    private static double[][] timeSteps(MultiLayerNetwork a, MultiLayerNetwork b, DataSet batch, int rounds) {
        for (int i = 0; i < WARMUP_STEPS; i++) {
            a.fit(batch);
            b.fit(batch);
        }
        double[][] ms = new double[2][rounds * STEPS_PER_BLOCK];
        for (int r = 0; r < rounds; r++) {
            MultiLayerNetwork[] order = r % 2 == 0 ? new MultiLayerNetwork[] {a, b} : new MultiLayerNetwork[] {b, a};
            for (MultiLayerNetwork net : order) {
                double[] out = ms[net == a ? 0 : 1];
                for (int s = 0; s < STEPS_PER_BLOCK; s++) {
                    long t0 = System.nanoTime();
                    net.fit(batch);
                    out[r * STEPS_PER_BLOCK + s] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        return ms;
    }

    /**
     * The fake-quant work of one QAT step, piece by piece: each weight's {@code q(W)} (computed once per step and
     * reused by the backward pass), and each activation's fake quantization forward and backward minus the
     * wrapped activation function's own forward and backward on the same tensors.
     */
    private static String breakdown(String name, MultiLayerNetwork qat, DataSet batch, double measuredExtra) {
        List<INDArray> activations = qat.feedForward(batch.getFeatures(), true);
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%n%s (measured QAT − fp32: %.2f ms per step)%n",
                name, measuredExtra));
        double total = 0;
        for (int i = 0; i < qat.getnLayers(); i++) {
            Layer layer = qat.getLayer(i);
            if (!(layer.conf().getLayer() instanceof BaseLayer conf)) {
                continue;
            }
            double weight = 0;
            if (conf.getWeightNoise() instanceof FakeQuantWeightNoise noise) {
                weight = millis(() -> noise.getParameter(layer, "W", 0, 0, true, mgr));
            }
            double forward = 0;
            double backward = 0;
            if (conf.getActivationFn() instanceof FakeQuantActivation act) {
                INDArray out = activations.get(i + 1);
                INDArray eps = Nd4j.rand(out.dataType(), out.shape()).subi(0.5);
                forward = millis(() -> act.getActivation(out.dup(), true))
                        - millis(() -> act.inner().getActivation(out.dup(), true));
                backward = millis(() -> act.backprop(out.dup(), eps.dup()))
                        - millis(() -> act.inner().backprop(out.dup(), eps.dup()));
            }
            total += weight + forward + backward;
            s.append(String.format(Locale.ROOT, "  layer %d %-16s weight q(W) %6.3f | activation fq forward %6.3f, "
                    + "backward %6.3f%n", i, conf.getClass().getSimpleName(), weight, forward, backward));
        }
        return s.append(String.format(Locale.ROOT, "  sum of the pieces: %.2f ms%n", total)).toString();
    }

    /** Median milliseconds of {@code PIECE_REPS} calls after 5 warm-up calls. */
    private static double millis(Runnable r) {
        for (int i = 0; i < 5; i++) {
            r.run();
        }
        double[] t = new double[PIECE_REPS];
        for (int i = 0; i < PIECE_REPS; i++) {
            long t0 = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        return median(t);
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
