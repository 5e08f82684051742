package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.model.data.ArrayDataSetIterator;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.model.zoo.LeNet5;
import org.quant4j.model.zoo.MnistMlp;

/**
 * {@code quant4j train}: trains one of the reference MNIST networks in fp32 and saves it as a DL4J model zip, the
 * input {@code quant4j ptq} and {@code quant4j eval} take.
 */
final class TrainCommand implements Command {
    @Override
    public String name() {
        return "train";
    }

    @Override
    public String summary() {
        return "train a reference MNIST network (mnist-mlp, mnist-lenet) and save it as a DL4J model zip";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("example").hasArg().argName("NAME").required()
                .desc("mnist-mlp (784-1024-1024-10) or mnist-lenet (LeNet-5)").build());
        o.addOption(Option.builder("o").longOpt("out").hasArg().argName("FILE").required()
                .desc("DL4J model zip to write").build());
        o.addOption(Option.builder().longOpt("epochs").hasArg().argName("N").desc("epochs (default 1)").build());
        o.addOption(Option.builder().longOpt("train-samples").hasArg().argName("N")
                .desc("train on the first N of the 8,000 training digits (default all)").build());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("S").desc("seed (default 42)").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        String example = cmd.getOptionValue("example").toLowerCase(Locale.ROOT);
        int epochs = cmd.hasOption("epochs") ? SpecOptions.parseInt(cmd, "epochs") : 1;
        long seed = cmd.hasOption("seed") ? SpecOptions.parseInt(cmd, "seed") : 42;
        MnistDigits digits = MnistData.digits();
        int samples = cmd.hasOption("train-samples") ? SpecOptions.parseInt(cmd, "train-samples") : digits.train().size();
        if (epochs < 1) {
            throw new UsageException("--epochs must be at least 1, got " + epochs);
        }
        if (samples < 1 || samples > digits.train().size()) {
            throw new UsageException("--train-samples must be 1.." + digits.train().size() + ", got " + samples);
        }
        MultiLayerNetwork net = switch (example) {
            case "mnist-mlp" -> MnistMlp.network(seed);
            case "mnist-lenet" -> LeNet5.network(seed);
            default -> throw new UsageException("unknown --example '" + example + "'; examples: mnist-mlp, mnist-lenet");
        };
        ArrayDataSetIterator train = new ArrayDataSetIterator(
                digits.train().features().get(NDArrayIndex.interval(0, samples)).dup(),
                digits.train().oneHotLabels().get(NDArrayIndex.interval(0, samples)).dup(), 64, seed);
        for (int e = 1; e <= epochs; e++) {
            long t0 = System.nanoTime();
            train.reset();
            net.fit(train);
            out.printf(Locale.ROOT, "epoch %d/%d: loss %.4f (%.1f s)%n", e, epochs, net.score(), (System.nanoTime() - t0) / 1e9);
        }
        double accuracy = net.evaluate(digits.test().iterator(500)).accuracy();
        Path file = Path.of(cmd.getOptionValue("out"));
        Dl4jModelFile.write(net, file);
        out.printf(Locale.ROOT, "%s on %d training digits: test accuracy %.2f%% on %d test digits; wrote %s%n", example,
                samples, 100 * accuracy, digits.test().size(), file);
        return Main.OK;
    }
}
