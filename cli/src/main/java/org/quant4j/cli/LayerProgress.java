package org.quant4j.cli;

import java.io.PrintStream;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.quant4j.model.QuantTarget;
import org.quant4j.ptq.pipeline.LayerReport;
import org.quant4j.ptq.pipeline.PtqListener;

/**
 * A progress bar per layer on stderr (calibration batches, held-out batches, the solve) and per whole-model pass (bias
 * correction), and one result line per finished layer on stdout.
 */
final class LayerProgress implements PtqListener {
    private final PrintStream out;
    private final PrintStream err;
    private ProgressBar bar;

    LayerProgress(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public void layerStarted(int index, int count, QuantTarget target, long steps) {
        bar = newBar(String.format(Locale.ROOT, "[%d/%d] %s", index + 1, count, target.name()), steps);
    }

    @Override
    public void layerStep(QuantTarget target, String phase) {
        bar.setExtraMessage(phase);
        bar.step();
    }

    @Override
    public void passStarted(String pass, long steps) {
        bar = newBar(pass, steps);
    }

    private ProgressBar newBar(String task, long steps) {
        return new ProgressBarBuilder().setTaskName(task).setInitialMax(steps).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250).setConsumer(new ConsoleProgressBarConsumer(err)).build();
    }

    @Override
    public void passStep(String pass, String what) {
        bar.setExtraMessage(what);
        bar.step();
    }

    @Override
    public void passFinished(String pass) {
        close();
    }

    /** Closes a bar left open by a layer or a pass that failed. */
    void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    @Override
    public void layerFinished(int index, int count, LayerReport r) {
        close();
        out.printf(Locale.ROOT, "%-24s %-18s %-16s %7.3f bits/w  output error %-9s  weight error %.3e  %.2f s%s%n",
                r.layer(), Shapes.format(r.shape()), r.spec(), r.bitsPerWeight(),
                r.outputError() == null ? "n/a" : String.format(Locale.ROOT, "%.3e", r.outputError()), r.weightError(),
                r.calibrationSeconds() + r.solveSeconds(), r.note().isEmpty() ? "" : "  (" + r.note() + ")");
    }
}
