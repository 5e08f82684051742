package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.eval.formats.MnistFormatsDemo;

/** {@code quant4j demo}: the README's main job (see {@link MnistFormatsDemo}). */
final class DemoCommand implements Command {
    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String summary() {
        return "end-to-end on real MNIST: train fp32, quantize in every format, write, reload, evaluate";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR")
                .desc("directory for the model files and the report (default quant4j-demo)").build());
        o.addOption(Option.builder().longOpt("epochs").hasArg().argName("N").desc("fp32 training epochs (default 3)").build());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("S").desc("seed (default 42)").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        int epochs = cmd.hasOption("epochs") ? SpecOptions.parseInt(cmd, "epochs") : 3;
        if (epochs < 1) {
            throw new UsageException("--epochs must be at least 1, got " + epochs);
        }
        long seed = cmd.hasOption("seed") ? SpecOptions.parseInt(cmd, "seed") : 42;
        MnistFormatsDemo.run(Path.of(cmd.getOptionValue("out", "quant4j-demo")), epochs, seed, out);
        return Main.OK;
    }
}
