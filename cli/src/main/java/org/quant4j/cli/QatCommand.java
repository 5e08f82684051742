package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.TernaryScale;
import org.quant4j.eval.qat.MnistExample;
import org.quant4j.eval.qat.MnistQatJob;
import org.quant4j.eval.qat.QatProgress;
import org.quant4j.eval.qat.QatReport;
import org.quant4j.eval.qat.QatResultRow;
import org.quant4j.eval.qat.QatRunSettings;
import org.quant4j.eval.qat.WeightWidth;
import org.quant4j.model.data.MnistDigits;

/**
 * {@code quant4j qat}: quantization-aware training end to end on real MNIST ({@link MnistQatJob}) for one
 * network and weight width, or with {@code --table} every width (of every network, or of {@code --example}); a progress bar per stage on stderr,
 * the results table on stdout, the model files and the report in {@code --out}.
 */
final class QatCommand implements Command {
    @Override
    public String name() {
        return "qat";
    }

    @Override
    public String summary() {
        return "QAT on real MNIST: fp32 training -> PTQ RTN -> QAT fine-tuning -> model file -> reload -> evaluate";
    }

    @Override
    public Options options() {
        QatRunSettings d = QatRunSettings.defaults();
        Options o = new Options();
        o.addOption(Option.builder().longOpt("example").hasArg().argName("NAME")
                .desc("network: " + MnistExample.cliNames()).build());
        o.addOption(Option.builder().longOpt("weights").hasArg().argName("W")
                .desc("weight width, per output channel: " + WeightWidth.cliNames()).build());
        o.addOption(Option.builder().longOpt("acts").hasArg().argName("A")
                .desc("activations: int8 (per tensor, default) or none (float)").build());
        o.addOption(Option.builder().longOpt("epochs").hasArg().argName("N")
                .desc("QAT fine-tuning epochs (default " + d.qatEpochs() + ")").build());
        o.addOption(Option.builder().longOpt("fp32-epochs").hasArg().argName("M")
                .desc("fp32 training epochs before quantization (default " + d.fp32Epochs() + ")").build());
        o.addOption(Option.builder().longOpt("train-samples").hasArg().argName("N")
                .desc("train on the first N of the " + MnistDigits.TRAIN_SIZE + " training digits (default all)").build());
        o.addOption(Option.builder().longOpt("ternary-scale").hasArg().argName("RULE")
                .desc("threshold and scale of ternary weights: twn (Ternary Weight Networks, default) or absmean "
                        + "(BitNet b1.58)").build());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("S").desc("seed (default " + d.seed() + ")").build());
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR")
                .desc("directory for the model files and the report (default quant4j-qat)").build());
        o.addOption(Option.builder().longOpt("table").desc("every weight width, for every network or the one of --example "
                + "(the README's QAT table); replaces --weights").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        QatRunSettings settings = settings(cmd);
        Path dir = Path.of(cmd.getOptionValue("out", "quant4j-qat"));
        List<QatResultRow> rows;
        try (BarProgress progress = new BarProgress(out)) {
            if (cmd.hasOption("table")) {
                if (cmd.hasOption("weights")) {
                    throw new UsageException("--table runs every weight width; do not give --weights");
                }
                rows = MnistQatJob.table(cmd.hasOption("example") ? List.of(example(cmd)) : List.of(MnistExample.values()),
                        settings, dir, progress);
            } else {
                rows = MnistQatJob.run(example(cmd), width(cmd), settings, dir, progress);
            }
        }
        MnistQatJob.print(rows, out);
        out.println();
        out.print(QatReport.summaryTable(rows));
        out.printf("%nreport: %s, %s, %s%n", dir.resolve(QatReport.MARKDOWN_FILE), dir.resolve(QatReport.JSON_FILE),
                dir.resolve(QatReport.PLOT_FILE));
        return Main.OK;
    }

    private static QatRunSettings settings(CommandLine cmd) {
        QatRunSettings d = QatRunSettings.defaults();
        String acts = cmd.getOptionValue("acts", "int8").toLowerCase(Locale.ROOT);
        if (!acts.equals("int8") && !acts.equals("none")) {
            throw new UsageException("--acts must be int8 or none, got '" + acts + "'");
        }
        try {
            return new QatRunSettings(
                    cmd.hasOption("fp32-epochs") ? SpecOptions.parseInt(cmd, "fp32-epochs") : d.fp32Epochs(),
                    cmd.hasOption("epochs") ? SpecOptions.parseInt(cmd, "epochs") : d.qatEpochs(),
                    cmd.hasOption("train-samples") ? SpecOptions.parseInt(cmd, "train-samples") : d.trainSamples(),
                    acts.equals("int8"),
                    cmd.hasOption("seed") ? SpecOptions.parseInt(cmd, "seed") : d.seed(),
                    ternaryScale(cmd, d.ternaryScale()));
        } catch (QuantizationException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static TernaryScale ternaryScale(CommandLine cmd, TernaryScale fallback) {
        if (!cmd.hasOption("ternary-scale")) {
            return fallback;
        }
        String name = cmd.getOptionValue("ternary-scale");
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "twn" -> TernaryScale.TWN;
            case "absmean" -> TernaryScale.ABSMEAN;
            default -> throw new UsageException("--ternary-scale must be twn or absmean, got '" + name + "'");
        };
    }

    private static MnistExample example(CommandLine cmd) {
        String name = required(cmd, "example");
        MnistExample e = MnistExample.byCliName(name.toLowerCase(Locale.ROOT));
        if (e == null) {
            throw new UsageException("unknown example '" + name + "'; examples: " + MnistExample.cliNames());
        }
        return e;
    }

    private static WeightWidth width(CommandLine cmd) {
        String name = required(cmd, "weights");
        WeightWidth w = WeightWidth.byCliName(name.toLowerCase(Locale.ROOT));
        if (w == null) {
            throw new UsageException("unknown weight width '" + name + "'; widths: " + WeightWidth.cliNames());
        }
        return w;
    }

    private static String required(CommandLine cmd, String option) {
        if (!cmd.hasOption(option)) {
            throw new UsageException("missing required option --" + option + " (or give --table)");
        }
        return cmd.getOptionValue(option);
    }

    /** A progress bar on stderr per stage with iterations; each stage's summary as a line on {@code out}. */
    private static final class BarProgress implements QatProgress, AutoCloseable {
        private final PrintStream out;
        private ProgressBar bar;

        BarProgress(PrintStream out) {
            this.out = out;
        }

        @Override
        public void stageStarted(String stage, long iterations) {
            close();
            if (iterations > 0) {
                bar = new ProgressBarBuilder().setTaskName(stage).setInitialMax(iterations)
                        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500)
                        .setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
            }
        }

        @Override
        public void iterationDone(double loss) {
            if (bar != null) {
                bar.step();
                if (!Double.isNaN(loss)) {
                    bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", loss));
                }
            }
        }

        @Override
        public void stageFinished(String stage, String summary) {
            close();
            out.println(stage + ": " + summary);
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
    }
}
