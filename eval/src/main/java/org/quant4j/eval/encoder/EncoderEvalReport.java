package org.quant4j.eval.encoder;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.quant4j.eval.qat.QatReport;

/**
 * An encoder's evaluation report in a directory, rewritten whole after every row so that a long run keeps its
 * partial results: {@code report.json} (job, settings, machine, rows), {@code report.md} (the table) and
 * {@code cosine-vs-bits.png} (mean cosine to fp32 against bits per weight, one series per method, the ONNX
 * Runtime int8 peer as a point).
 */
public final class EncoderEvalReport {
    public static final String JSON_FILE = "report.json";
    public static final String MARKDOWN_FILE = "report.md";
    public static final String PLOT_FILE = "cosine-vs-bits.png";

    private final Path dir;
    private final String modelName;
    private final Map<String, Object> settings;
    private final List<EncoderEvalRow> rows = new ArrayList<>();

    /**
     * @param modelName the encoder's name in the titles
     * @param settings  shown in the JSON and Markdown (sentences, calibration, command...)
     */
    public EncoderEvalReport(Path dir, String modelName, Map<String, Object> settings) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.modelName = modelName;
        this.settings = new LinkedHashMap<>(settings);
    }

    public List<EncoderEvalRow> rows() {
        return List.copyOf(rows);
    }

    /** Adds a row and rewrites the three files. */
    public void append(EncoderEvalRow row) throws IOException {
        rows.add(row);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("job", modelName + " PTQ: fidelity of sentence embeddings to fp32");
        json.put("settings", settings);
        json.put("machine", QatReport.machine());
        json.put("rows", rows);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve(JSON_FILE).toFile(), json);
        StringBuilder md = new StringBuilder("## " + modelName + ": sentence-embedding fidelity to fp32\n\n");
        settings.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        md.append('\n').append(EncoderEvalRow.markdownHeader());
        for (EncoderEvalRow r : rows) {
            md.append(r.markdown()).append('\n');
        }
        md.append('\n');
        for (EncoderEvalRow r : rows) {
            if (!r.note().isEmpty()) {
                md.append("- ").append(r.method()).append(' ').append(r.spec()).append(": ").append(r.note()).append('\n');
            }
        }
        md.append('\n').append(QatReport.machine()).append('\n');
        Files.writeString(dir.resolve(MARKDOWN_FILE), md.toString());
        plot();
    }

    private void plot() throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560)
                .title(modelName + ": mean cosine to fp32 vs bits per weight")
                .xAxisTitle("bits per weight of the dense layers (scales, zero points, codebooks included)")
                .yAxisTitle("mean cosine to fp32").build();
        chart.getStyler().setMarkerSize(9);
        Set<String> methods = new LinkedHashSet<>();
        rows.forEach(r -> methods.add(r.method()));
        for (String method : methods) {
            if (method.equals("fp32")) {
                continue;
            }
            List<EncoderEvalRow> points = new ArrayList<>(rows.stream()
                    .filter(r -> r.method().equals(method) && !Double.isNaN(r.bitsPerWeight())).toList());
            if (points.isEmpty()) {
                continue;
            }
            points.sort((a, b) -> Double.compare(a.bitsPerWeight(), b.bitsPerWeight()));
            chart.addSeries(method, points.stream().mapToDouble(EncoderEvalRow::bitsPerWeight).toArray(),
                    points.stream().mapToDouble(EncoderEvalRow::meanCosine).toArray())
                    .setMarker(method.equals("ort-int8") ? SeriesMarkers.DIAMOND : SeriesMarkers.CIRCLE);
        }
        if (chart.getSeriesMap().isEmpty()) {
            chart.addSeries("fp32", new double[]{32}, new double[]{1});
        }
        BitmapEncoder.saveBitmap(chart, dir.resolve(PLOT_FILE).toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
