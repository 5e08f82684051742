package org.quant4j.eval.encoder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.model.bert.SentenceEncoder;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.TextCalibration;
import org.quant4j.model.bert.QuantizableBert;
import org.quant4j.ptq.Solvers;
import org.quant4j.ptq.WeightSolver;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqResult;
import org.quant4j.ptq.pipeline.LayerReport;
import org.quant4j.ptq.pipeline.PtqListener;

/**
 * The PTQ table of a sentence encoder: for each method and width, {@link PtqPipeline} quantizes a fresh fp32 copy on
 * the calibration text, the model file is written, read back and loaded into the scratch encoder, and its
 * sentence embeddings are compared to fp32 ({@link EncoderEvaluation#quantizedRow}); each row is appended to the
 * report as soon as it is measured.
 *
 * <p>Widths (the AutoAWQ/GPTQ convention): 8 = INT8 symmetric per output channel; 4, 3, 2 = INT asymmetric in
 * groups of {@value #GROUP} input columns, for every method including HQQ (whose own default group is 64), so
 * that all methods are compared at the same storage. HQQ optimises a fractional zero point, which the
 * reference keeps in fp16: its specs are asymmetric with FP16 zero points (at 8 bits too: asymmetric per
 * channel), since with UINT zero points its result is rounded back to round-to-nearest. CLAQ has its own
 * widths: the average code bits of its Adaptive Precision ({@link ClaqParams#adaptive}), by default 4, 3, 2.5
 * and 2.1.
 */
public final class EncoderPtqTable {
    public static final int GROUP = 128;
    public static final List<String> DEFAULT_METHODS = List.of("rtn", "gptq", "hqq", "awq", "claq");
    public static final List<Integer> DEFAULT_BITS = List.of(8, 4, 3, 2);
    public static final List<Double> DEFAULT_CLAQ_BITS = List.of(4.0, 3.0, 2.5, 2.1);
    public static final long SEED = 42;

    private EncoderPtqTable() {
    }

    /** A run that failed, with the error's message. */
    public record Failure(Entry entry, String message) {
    }

    /** Receives each row as soon as it is measured (prints it, appends it to a report...). */
    @FunctionalInterface
    public interface RowSink {
        void accept(EncoderEvalRow row) throws IOException;
    }

    /**
     * One run of the table: a method and either a spec or CLAQ parameters, with or without bias correction
     * (then the label ends in {@code -bc}).
     */
    public record Entry(String method, String label, QuantSpec spec, ClaqParams claq, boolean biasCorrection) {
    }

    /** The weight spec of a width: 8 -> INT8 symmetric per channel, 2..7 -> INT asymmetric groups of 128. */
    public static QuantSpec spec(int bits) {
        if (bits == 8) {
            return QuantSpec.integer(8, true, Granularity.perChannel());
        }
        if (bits < 2 || bits > 7) {
            throw new InvalidSpecException("table widths are 2..8 bits, got " + bits);
        }
        return QuantSpec.integer(bits, false, Granularity.perGroup(GROUP));
    }

    /** {@link #spec(int)}, except for HQQ: asymmetric with FP16 zero points (see the class comment). */
    public static QuantSpec spec(String method, int bits) {
        QuantSpec s = spec(bits);
        return method.equals("hqq") ? s.toBuilder().symmetric(false).zeroEncoding(NumberEncoding.FP16).build() : s;
    }

    /** The runs, methods outer and widths inner (CLAQ at its own average widths), without bias correction. */
    public static List<Entry> plan(List<String> methods, List<Integer> bits, List<Double> claqBits) {
        return plan(methods, bits, claqBits, false);
    }

    /** {@link #plan(List, List, List)}, every run with bias correction when {@code biasCorrection}. */
    public static List<Entry> plan(List<String> methods, List<Integer> bits, List<Double> claqBits,
                                   boolean biasCorrection) {
        String suffix = biasCorrection ? "-bc" : "";
        List<Entry> entries = new ArrayList<>();
        for (String method : methods) {
            if (!Solvers.NAMES.contains(method)) {
                throw new InvalidSpecException("unknown method '" + method + "'; methods are " + Solvers.NAMES);
            }
            if (method.equals("claq")) {
                for (double b : claqBits) {
                    entries.add(new Entry(method, String.format(Locale.ROOT, "claq%.1f", b) + suffix, null,
                            ClaqParams.adaptive(b), biasCorrection));
                }
            } else {
                for (int b : bits) {
                    QuantSpec s = spec(method, b);
                    entries.add(new Entry(method, s.shortName() + suffix, s, null, biasCorrection));
                }
            }
        }
        return entries;
    }

    /**
     * Runs every entry and hands its row to {@code sink}; a run that fails with a {@link QuantizationException}
     * is reported on {@code progress} and returned, and the table goes on with the next.
     *
     * @param modelDir where the model files go ({@code <file prefix>-<method>-<label>.q4j})
     * @param progress one line per finished encoder layer and per row (e.g. stderr)
     */
    public static List<Failure> run(EncoderEvaluation eval, List<String> calibration, String calibrationDescription,
                                          List<Entry> entries, Path modelDir, RowSink sink, PrintStream progress)
            throws IOException {
        Files.createDirectories(modelDir);
        List<Failure> failures = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            String tag = String.format(Locale.ROOT, "[%d/%d] %s %s", i + 1, entries.size(), e.method(), e.label());
            progress.println(tag + ": quantizing");
            try {
                runOne(eval, calibration, calibrationDescription, e, tag, modelDir, sink, progress);
            } catch (QuantizationException ex) {
                progress.println(tag + ": FAILED: " + ex.getMessage());
                failures.add(new Failure(e, ex.getMessage()));
            }
        }
        return failures;
    }

    private static void runOne(EncoderEvaluation eval, List<String> calibration, String calibrationDescription, Entry e,
                               String tag, Path modelDir, RowSink sink, PrintStream progress) throws IOException {
        long start = System.nanoTime();
        WeightSolver solver = e.claq() != null ? new Claq(e.claq()) : Solvers.create(e.method());
        PtqPipeline.Builder b = PtqPipeline.builder(solver, e.spec())
                .calibration(new TextCalibration(calibration, 128, calibrationDescription)).seed(SEED)
                .listener(layers(tag, progress)).biasCorrection(e.biasCorrection());
        SentenceEncoder model = eval.freshFp32Copy();
        PtqResult<QuantizableModel> result = b.build()
                .quantize(QuantizableBert.of(eval.modelName(), model.encoder(), model.tokenizer()));
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<String, float[]> inPlace = targetWeights(model.encoder());
        Path file = modelDir.resolve(filePrefix(eval.modelName()) + "-" + e.method() + "-" + e.label() + ".q4j");
        result.writeModel(file);
        QuantizedModel reread = ModelFileReader.read(file);
        EncoderEvalRow row = eval.quantizedRow(reread, Files.size(file), seconds);
        checkReload(inPlace, targetWeights(model.encoder()), file);
        sink.accept(row);
        progress.printf(Locale.ROOT, "%s: %.1f s, mean cosine %.5f%n", tag, seconds, row.meanCosine());
    }

    /**
     * A model name as a file-name prefix: lower case, without an {@code .onnx} extension, runs of characters other
     * than letters, digits and dots as '-'.
     */
    static String filePrefix(String modelName) {
        String p = modelName.toLowerCase(Locale.ROOT).replaceAll("\\.onnx$", "").replaceAll("[^a-z0-9.]+", "-")
                .replaceAll("^-|-$", "");
        return p.isEmpty() ? "model" : p;
    }

    private static Map<String, float[]> targetWeights(BertEncoder encoder) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (LinearTarget t : encoder.targets()) {
            weights.put(t.name(), encoder.weight(t.name()).data().asFloat());
        }
        return weights;
    }

    /**
     * The weights the encoder computes with after loading the model file must be those the runner left in it (its
     * contract: the encoder computes what the stored model computes), up to float rounding of the AWQ input
     * scale division.
     */
    private static void checkReload(Map<String, float[]> inPlace, Map<String, float[]> reloaded, Path file) {
        for (Map.Entry<String, float[]> e : inPlace.entrySet()) {
            float[] a = e.getValue();
            float[] b = reloaded.get(e.getKey());
            for (int i = 0; i < a.length; i++) {
                if (Math.abs(a[i] - b[i]) > 1e-5f * Math.max(1f, Math.abs(a[i]))) {
                    throw new QuantizationException(file + ": target '" + e.getKey() + "' reloads to " + b[i]
                            + " at element " + i + " but the quantized encoder holds " + a[i]);
                }
            }
        }
    }

    private static PtqListener layers(String tag, PrintStream progress) {
        return new PtqListener() {
            @Override
            public void layerFinished(int index, int count, LayerReport report) {
                if ((index + 1) % 6 == 0 || index + 1 == count) {
                    progress.printf(Locale.ROOT, "%s: %d/%d targets%n", tag, index + 1, count);
                }
            }
        };
    }
}
