package org.quant4j.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.OnnxRuntimeEncoder;
import org.quant4j.model.bert.Padding;
import org.quant4j.model.bert.TokenBatch;
import org.quant4j.model.bert.WordPieceTokenizer;
import org.quant4j.model.data.SotuCorpus;

/**
 * ONNX Runtime latency of all-MiniLM-L6-v2 exports: for each ONNX file (e.g. the fp32 model, ONNX Runtime's own int8
 * export, {@code quant4j export --format onnx} files), one session with the given intra-op threads, then the median
 * wall time of {@code last_hidden_state} for batch 1 (single held-out SOTU sentences) and batch 32 (32 sentences
 * padded to the longest), after a warm-up. The files run in turns, round by round, so load from other processes hits
 * them alike. The fp32 model and ONNX Runtime's int8 export come from the classpath when named {@code fp32} and
 * {@code ort-int8}.
 *
 * <p>Usage: {@code bench/run org.quant4j.bench.OnnxLatencyBenchmark [--threads 2] [--rounds 5] fp32 ort-int8
 * enc.onnx ...}.
 */
public final class OnnxLatencyBenchmark {
    private static final int BATCH = 32;
    private static final int SINGLES_PER_ROUND = 32;

    private OnnxLatencyBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int threads = 2;
        int rounds = 5;
        List<String> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> files.add(args[i]);
            }
        }
        if (files.isEmpty()) {
            files = List.of("fp32", "ort-int8");
        }
        WordPieceTokenizer tokenizer = MiniLm.load().tokenizer().withPadding(Padding.batchLongest());
        List<String> sentences = SotuCorpus.load().split().evaluation();
        List<OnnxRuntimeEncoder> sessions = new ArrayList<>();
        for (String f : files) {
            sessions.add(OnnxRuntimeEncoder.open(bytes(f), f, threads));
        }
        int n = files.size();
        double[][] single = new double[n][rounds * SINGLES_PER_ROUND];
        double[][] batched = new double[n][rounds];
        for (int warm = 0; warm < 3; warm++) {
            for (OnnxRuntimeEncoder s : sessions) {
                s.lastHiddenState(tokenizer.encodeBatch(sentences.subList(0, BATCH)));
            }
        }
        for (int r = 0; r < rounds; r++) {
            for (int f = 0; f < n; f++) {
                for (int k = 0; k < SINGLES_PER_ROUND; k++) {
                    TokenBatch one = tokenizer.encodeBatch(List.of(sentences.get((r * SINGLES_PER_ROUND + k)
                            % sentences.size())));
                    single[f][r * SINGLES_PER_ROUND + k] = time(sessions.get(f), one);
                }
                int from = (r * BATCH) % (sentences.size() - BATCH);
                batched[f][r] = time(sessions.get(f), tokenizer.encodeBatch(sentences.subList(from, from + BATCH)));
            }
        }
        System.out.printf(Locale.ROOT, "ONNX Runtime, %d intra-op threads, %d cores, %s, load average %.2f%n", threads,
                Runtime.getRuntime().availableProcessors(), Instant.now(),
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        System.out.println("| file | bytes | batch 1 median ms | batch 32 median ms |");
        System.out.println("|---|---|---|---|");
        for (int f = 0; f < n; f++) {
            System.out.printf(Locale.ROOT, "| %s | %,d | %.2f | %.1f |%n", files.get(f), bytes(files.get(f)).length,
                    median(single[f]), median(batched[f]));
            sessions.get(f).close();
        }
    }

    private static double time(OnnxRuntimeEncoder session, TokenBatch batch) {
        long t0 = System.nanoTime();
        session.lastHiddenState(batch);
        return (System.nanoTime() - t0) / 1e6;
    }

    private static byte[] bytes(String file) throws Exception {
        return switch (file) {
            case "fp32" -> MiniLm.readAllBytes(MiniLm.ONNX_RESOURCE);
            case "ort-int8" -> MiniLm.readAllBytes(MiniLm.INT8_ONNX_RESOURCE);
            default -> Files.readAllBytes(Path.of(file));
        };
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
