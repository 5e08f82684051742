package org.quant4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

/**
 * Throughput of the core formats on a 4096×4096 fp32 matrix: quantize+pack and unpack+dequantize,
 * next to a plain copy of the same bytes (the machine's memcpy bandwidth, measured in the same run).
 * {@link BenchMain} turns the times into GB/s of fp32 processed and ratios to memcpy.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
public class CoreFormatsBenchmark {
    public static final int N = 4096;

    @Param({"int4-g128", "int8-channel", "nf4", "fp8-e4m3"})
    public String spec;

    private float[] weights;
    private float[] copy;
    private float[] out;
    private QuantizedTensor quantized;
    private QuantSpec quantSpec;

    /** The spec a benchmark parameter names. */
    public static QuantSpec spec(String name) {
        return switch (name) {
            case "int4-g128" -> QuantSpec.builder().bits(4).asymmetric().groupSize(128).build();
            case "int8-channel" -> QuantSpec.builder().bits(8).perChannel().build();
            case "nf4" -> QuantSpec.nf4(false);
            case "fp8-e4m3" -> QuantSpec.fp8E4M3();
            default -> throw new IllegalArgumentException("unknown spec " + name);
        };
    }

    @Setup(Level.Trial)
    public void setUp() {
        weights = new float[N * N];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (float) (r.nextGaussian() * 0.02);
        }
        copy = new float[N * N];
        out = new float[N * N];
        quantSpec = spec(spec);
        quantized = Quantizer.quantize("bench", weights, new long[] {N, N}, quantSpec);
    }

    @Benchmark
    public QuantizedTensor quantizeAndPack() {
        return Quantizer.quantize("bench", weights, new long[] {N, N}, quantSpec);
    }

    @Benchmark
    public float[] unpackAndDequantize() {
        quantized.dequantizeInto(out);
        return out;
    }

    /** The floor: copying the same 64 MiB of fp32 once. */
    @Benchmark
    public float[] memcpy() {
        System.arraycopy(weights, 0, copy, 0, weights.length);
        return copy;
    }
}
