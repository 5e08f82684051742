package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Supplier;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.Pooling;
import org.quant4j.model.bert.SentenceEncoder;

/**
 * The encoder a command names: {@code --model minilm} (the built-in all-MiniLM-L6-v2) or {@code --model FILE.onnx
 * --tokenizer tokenizer.json [--pooling mean|cls|max[-nonorm]]} (a user's BERT-family sentence encoder, whose fp32
 * forward is checked against ONNX Runtime on load).
 */
final class EncoderModelOptions {
    static final String BUILT_IN = "minilm";

    private EncoderModelOptions() {
    }

    /** Adds {@code --tokenizer} and {@code --pooling}. */
    static void addTo(Options o) {
        o.addOption(Option.builder().longOpt("tokenizer").hasArg().argName("FILE")
                .desc("with --model FILE.onnx: the encoder's Hugging Face tokenizer.json (WordPiece)").build());
        o.addOption(Option.builder().longOpt("pooling").hasArg().argName("MODE")
                .desc("with --model FILE.onnx: sentence pooling mean|cls|max (suffix -nonorm: no L2 norm; default mean)")
                .build());
    }

    /** Whether {@code --model} names an encoder rather than a DL4J model zip. */
    static boolean wanted(CommandLine cmd) {
        String model = cmd.getOptionValue("model").toLowerCase(Locale.ROOT);
        return model.equals(BUILT_IN) || model.endsWith(".onnx");
    }

    /** Refuses the encoder options for a DL4J model zip. */
    static void refuseForDl4j(CommandLine cmd) {
        for (String option : new String[]{"tokenizer", "pooling", "max-tokens", "text"}) {
            if (cmd.hasOption(option)) {
                throw new UsageException("--" + option + " is for sentence encoders (--model minilm or FILE.onnx), "
                        + "not for the DL4J model zip " + cmd.getOptionValue("model"));
            }
        }
    }

    static boolean builtIn(CommandLine cmd) {
        return cmd.getOptionValue("model").equalsIgnoreCase(BUILT_IN);
    }

    /** all-MiniLM-L6-v2, or the ONNX file's name. */
    static String name(CommandLine cmd) {
        return builtIn(cmd) ? MiniLm.NAME : Path.of(cmd.getOptionValue("model")).getFileName().toString();
    }

    /** Checks the options and returns what reads the encoder (again at every call). */
    static Supplier<SentenceEncoder> loader(CommandLine cmd) {
        String model = cmd.getOptionValue("model");
        if (builtIn(cmd)) {
            for (String option : new String[]{"tokenizer", "pooling"}) {
                if (cmd.hasOption(option)) {
                    throw new UsageException("--" + option + " goes with --model FILE.onnx; minilm brings its own "
                            + "(tokenizer.json, mean pooling)");
                }
            }
            return () -> MiniLm.load().sentenceEncoder();
        }
        if (!cmd.hasOption("tokenizer")) {
            throw new UsageException("--model " + model + " needs --tokenizer FILE (the model's tokenizer.json)");
        }
        Pooling pooling;
        try {
            pooling = cmd.hasOption("pooling") ? Pooling.parse(cmd.getOptionValue("pooling")) : Pooling.MEAN;
        } catch (IllegalArgumentException e) {
            throw new UsageException("--pooling: " + e.getMessage());
        }
        Path tokenizer = Path.of(cmd.getOptionValue("tokenizer"));
        return () -> SentenceEncoder.load(Path.of(model), tokenizer, pooling);
    }

    /** Reads the encoder once; a user's file is checked against ONNX Runtime (the difference printed). */
    static SentenceEncoder load(CommandLine cmd, PrintStream out) {
        SentenceEncoder encoder = loader(cmd).get();
        if (!builtIn(cmd)) {
            out.println("fp32 forward vs ONNX Runtime: " + encoder.onnxRuntimeAgreement(2));
        }
        return encoder;
    }
}
