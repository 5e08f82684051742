package org.quant4j.ptq.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The report of one {@link PtqPipeline} run: the full configuration, the machine, and per layer its error, time and
 * bits per weight. {@link #write} puts it in a directory as {@code report.json}, {@code report.md} and
 * {@code error-by-layer.png}.
 *
 * @param sourceModel     the model quantized
 * @param method          the solver's short name (rtn, gptq, hqq...)
 * @param solver          the solver with its options
 * @param specName        the requested spec's short name (e.g. int4-sym-g128)
 * @param spec            the requested spec as JSON
 * @param groupFallback   the group fallback policy
 * @param calibration     the calibration data, or "none"
 * @param sequential      whether targets were calibrated on the outputs of the quantized targets before them
 * @param errorRows       where the output error was measured ("held-out: ..." or "calibration reservoir (in-sample)")
 * @param seed            the seed of the reservoirs
 * @param date            ISO date-time of the run
 * @param machine         processors, OS, JVM
 * @param totalSeconds    wall time of the whole run
 * @param bitsPerWeight   stored bits per weight over all quantized weights
 * @param layers          one entry per target, in network order
 * @param biasCorrection  whether every target's bias was corrected to the float model's mean output
 *                        ({@link PtqPipeline.Builder#biasCorrection}; the layers' notes say which were)
 */
public record PtqReport(String sourceModel, String method, String solver, String specName, String spec, String groupFallback,
                        String calibration, boolean sequential, String errorRows, long seed, String date, String machine,
                        double totalSeconds, double bitsPerWeight, List<LayerReport> layers, boolean biasCorrection) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public PtqReport {
        layers = List.copyOf(layers);
    }

    /** The report for {@code name}, or an exception naming the layers there are. */
    public LayerReport layer(String name) {
        return layers.stream().filter(l -> l.layer().equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("no layer '" + name + "' in the report; layers: "
                        + layers.stream().map(LayerReport::layer).toList()));
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize the report", e);
        }
    }

    /** A Markdown page: the configuration, then a table with one row per layer. */
    public String toMarkdown() {
        StringBuilder md = new StringBuilder();
        md.append("# PTQ report: ").append(method).append(" on ").append(sourceModel).append("\n\n");
        md.append("- solver: `").append(solver).append("`\n");
        md.append("- spec: `").append(spec).append("`, group fallback: ").append(groupFallback).append('\n');
        md.append("- calibration: ").append(calibration).append(sequential
                ? " (true sequential: each layer on the outputs of the quantized layers before it)\n"
                : " (each layer on the unquantized network's activations)\n");
        if (biasCorrection) {
            md.append("- bias correction: every layer's bias shifted so its mean output over the calibration data is "
                    + "the float model's (b' = b + W·E[x] − Ŵ·E[x̂]); the output error below is of the weights alone\n");
        }
        md.append("- output error measured on: ").append(errorRows).append('\n');
        md.append(String.format(Locale.ROOT, "- %.3f bits per weight over all quantized weights, %.2f s in total%n",
                bitsPerWeight, totalSeconds));
        md.append("- seed ").append(seed).append(", ").append(date).append(", ").append(machine).append("\n\n");
        md.append("| # | layer | type | shape | spec | bits/weight | rel. output error | rel. weight error "
                + "| calib rows | calib s | solve s | note |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < layers.size(); i++) {
            LayerReport l = layers.get(i);
            md.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %.3f | %s | %.3e | %d | %.2f | %.2f | %s |%n",
                    i, l.layer(), l.layerType(), shape(l.shape()), l.spec(), l.bitsPerWeight(),
                    l.outputError() == null ? "n/a" : String.format(Locale.ROOT, "%.3e", l.outputError()),
                    l.weightError(), l.calibrationRows(), l.calibrationSeconds(), l.solveSeconds(), l.note()));
        }
        return md.toString();
    }

    /**
     * Writes {@code report.json}, {@code report.md} and {@code error-by-layer.png} into {@code dir} (created if
     * needed).
     */
    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("report.json"), toJson());
        Files.writeString(dir.resolve("report.md"), toMarkdown());
        ErrorByLayerPlot.write(this, dir.resolve("error-by-layer.png"));
    }

    static String shape(long[] shape) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : "x").append(shape[i]);
        }
        return s.toString();
    }
}
