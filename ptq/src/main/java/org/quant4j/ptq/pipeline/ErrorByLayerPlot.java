package org.quant4j.ptq.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;

/**
 * The relative errors by layer on a log scale, one marker per layer joined by lines: the output error where it was
 * measured, and the weight error. Drawn off-screen (headless AWT).
 */
final class ErrorByLayerPlot {
    private ErrorByLayerPlot() {}

    static void write(PtqReport report, Path png) throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        List<String> layers = new ArrayList<>();
        List<Double> output = new ArrayList<>();
        List<Double> weight = new ArrayList<>();
        for (LayerReport l : report.layers()) {
            layers.add(l.layer());
            output.add(l.outputError() == null ? null : floor(l.outputError()));
            weight.add(floor(l.weightError()));
        }
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(800, 90 * layers.size())).height(480)
                .title(report.method() + " " + report.specName() + " on " + report.sourceModel() + ": relative error by layer")
                .xAxisTitle("layer").yAxisTitle("relative squared error (log)").build();
        chart.getStyler().setYAxisLogarithmic(true); // XChart cannot draw bars on a log axis: markers and lines
        chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        chart.getStyler().setOverlapped(true);
        chart.getStyler().setXAxisLabelRotation(30);
        if (output.stream().anyMatch(v -> v != null)) {
            chart.addSeries("output error ||WX-ŴX||²/||WX||²", layers, output);
        }
        chart.addSeries("weight error ||W-Ŵ||²/||W||²", layers, weight);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** Zero cannot be drawn on a log axis: it is shown at 1e-12. */
    private static double floor(double error) {
        return Math.max(error, 1e-12);
    }
}
