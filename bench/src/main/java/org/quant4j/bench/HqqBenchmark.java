package org.quant4j.bench;

import java.time.LocalDate;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.ptq.hqq.Hqq;

/**
 * Times HQQ ({@link Hqq}, reference defaults) on one {@code n × n} layer, int4 asymmetric, groups of 64,
 * FP16 scales and zero points, next to core's min-max round-to-nearest on the same spec, both through
 * their public entry points from an ND4J array. Prints the machine, the median and best of the timed
 * runs, and the weight errors of both.
 *
 * <p>Usage: {@code bench/run org.quant4j.bench.HqqBenchmark [n] [runs]} (defaults 4096 and 5). The weight
 * is Gaussian (σ = 0.02, the magnitude of LLM weights) with 0.1% outliers at 8..16σ.
 */
public final class HqqBenchmark {
    private HqqBenchmark() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        float[] data = weights(n, 42);
        INDArray w = Nd4j.create(data, new long[] {n, n}, 'c');
        QuantSpec spec = QuantSpec.builder().bits(4).asymmetric().groupSize(64)
                .zeroEncoding(NumberEncoding.FP16).build();
        Hqq hqq = new Hqq();

        double[] hqqMs = time(runs, () -> hqq.solve("bench", w, null, spec));
        double[] rtnMs = time(runs, () -> Quantizer.quantize("bench", w, spec));
        Hqq.Solution solution = hqq.solve("bench", data, new long[] {n, n}, spec);
        float[] rtn = Quantizer.quantize("bench", data, new long[] {n, n}, spec).dequantizeToArray();
        float[] hq = solution.tensor().dequantizeToArray();

        System.out.printf("Machine: %d cores, %s %s, Java %s, %d threads (common pool %d + caller), %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.arch"), System.getProperty("java.version"),
                ForkJoinPool.getCommonPoolParallelism() + 1, ForkJoinPool.getCommonPoolParallelism(), LocalDate.now());
        System.out.printf("Layer %d x %d, %s, %d timed runs after one warm-up%n%n", n, n, spec, runs);
        System.out.println("| method | median ms / layer | best ms | iterations | mean abs error | rel. L2 error |");
        System.out.println("|---|---|---|---|---|---|");
        System.out.printf("| HQQ (p=0.7, beta=10, kappa=1.01, 20 it, early stop) | %.0f | %.0f | %d (best %d) | %.4e | %.4e |%n",
                median(hqqMs), hqqMs[0], solution.result().iterations(), solution.result().bestIteration(),
                meanAbs(data, hq), relL2(data, hq));
        System.out.printf("| RTN min-max (core Quantizer) | %.0f | %.0f | - | %.4e | %.4e |%n",
                median(rtnMs), rtnMs[0], meanAbs(data, rtn), relL2(data, rtn));
        System.out.printf("%nHQQ / RTN time: %.1fx%n", median(hqqMs) / median(rtnMs));
    }

    /** Sorted wall times in ms of {@code runs} calls after one warm-up call. */
    private static double[] time(int runs, Supplier<QuantizedTensor> body) {
        body.get();
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            body.get();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms;
    }

    private static double median(double[] sorted) {
        int m = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    private static float[] weights(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] w = new float[n * n];
        for (int i = 0; i < w.length; i++) {
            double u = 1 - random.nextDouble();
            double g = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
            w[i] = (float) (random.nextDouble() < 0.001 ? Math.signum(g) * 0.02 * (8 + 8 * random.nextDouble()) : 0.02 * g);
        }
        return w;
    }

    private static double meanAbs(float[] w, float[] q) {
        double sum = 0;
        for (int i = 0; i < w.length; i++) {
            sum += Math.abs(w[i] - q[i]);
        }
        return sum / w.length;
    }

    private static double relL2(float[] w, float[] q) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < w.length; i++) {
            double e = w[i] - q[i];
            num += e * e;
            den += (double) w[i] * w[i];
        }
        return num / den;
    }
}
