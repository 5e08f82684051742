package org.quant4j.bench;

import java.time.LocalDate;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link CoreFormatsBenchmark} and prints a Markdown table: milliseconds per 4096×4096 matrix,
 * GB/s of fp32 processed, and the ratio to the memcpy bandwidth measured in the same run.
 * Extra arguments are JMH include patterns (default: the whole CoreFormatsBenchmark).
 */
public final class BenchMain {
    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        String include = args.length > 0 ? args[0] : CoreFormatsBenchmark.class.getSimpleName();
        Options opts = new OptionsBuilder().include(include).build();
        Collection<RunResult> results = new Runner(opts).run();

        double bytes = 4.0 * CoreFormatsBenchmark.N * CoreFormatsBenchmark.N;
        Map<String, double[]> rows = new LinkedHashMap<>();
        double memcpyMs = Double.NaN;
        for (RunResult r : results) {
            String method = r.getParams().getBenchmark().replaceAll(".*\\.", "");
            String spec = r.getParams().getParam("spec");
            double ms = r.getPrimaryResult().getScore();
            double err = r.getPrimaryResult().getScoreError();
            if (method.equals("memcpy")) {
                memcpyMs = Double.isNaN(memcpyMs) ? ms : Math.min(memcpyMs, ms);
                continue;
            }
            rows.put(spec + " | " + method, new double[] {ms, err});
        }
        double memcpyGbs = bytes / (memcpyMs * 1e-3) / 1e9;
        System.out.println();
        System.out.printf("Machine: %d cores, %s %s, Java %s, %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"),
                LocalDate.now());
        System.out.printf("memcpy of 64 MiB fp32: %.2f ms = %.2f GB/s%n%n", memcpyMs, memcpyGbs);
        System.out.println("| spec | operation | ms / 4096² matrix | GB/s of fp32 | ratio to memcpy |");
        System.out.println("|---|---|---|---|---|");
        rows.forEach((k, v) -> {
            double gbs = bytes / (v[0] * 1e-3) / 1e9;
            System.out.printf("| %s | %.2f ± %.2f | %.2f | %.3f |%n", k, v[0], v[1], gbs, gbs / memcpyGbs);
        });
    }
}
