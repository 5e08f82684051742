package org.quant4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.ModelWeights;
import org.quant4j.model.llm.GgufDecoders;
import org.quant4j.model.llm.LlamaDecoder;
import org.quant4j.model.llm.QuantizableLlama;
import org.quant4j.model.llm.tokenizer.LlamaTokenizer;

/**
 * The decoder a command names: {@code --model FILE.gguf} (architectures llama and qwen2), with the tokenizer its
 * metadata describes; {@code --quantized FILE.q4j} loads a quant4j model file's weights into it.
 */
final class DecoderModelOptions {
    private DecoderModelOptions() {
    }

    /** A decoder and its tokenizer. */
    record Decoder(String name, LlamaDecoder model, LlamaTokenizer tokenizer) {
        /** The start token the vocabulary adds, or -1. */
        int bos() {
            int[] withSpecial = tokenizer.encode("", true, false);
            return withSpecial.length > 0 ? withSpecial[0] : -1;
        }
    }

    /** Whether {@code --model} names a GGUF decoder. */
    static boolean wanted(CommandLine cmd) {
        return cmd.getOptionValue("model").toLowerCase(Locale.ROOT).endsWith(".gguf");
    }

    /** Refuses the sentence-encoder options for a decoder. */
    static void refuseEncoderOptions(CommandLine cmd) {
        for (String option : new String[]{"tokenizer", "pooling", "peer", "table", "sentences"}) {
            if (cmd.hasOption(option)) {
                throw new UsageException("--" + option + " is for sentence encoders, not for the GGUF decoder "
                        + cmd.getOptionValue("model") + " (its tokenizer is in the file)");
            }
        }
    }

    static Decoder load(CommandLine cmd) throws IOException {
        Path file = Path.of(cmd.getOptionValue("model"));
        if (!Files.isRegularFile(file)) {
            throw new UsageException("--model " + file + ": no such file (a GGUF decoder: llama or qwen2)");
        }
        return new Decoder(file.getFileName().toString(), GgufDecoders.load(file), LlamaTokenizer.read(file));
    }

    /** A fresh copy of the decoder with the weights of {@code --quantized FILE}, or null without the option. */
    static LlamaDecoder quantized(CommandLine cmd) throws IOException {
        if (!cmd.hasOption("quantized")) {
            return null;
        }
        QuantizedModel file = ModelFileReader.read(Path.of(cmd.getOptionValue("quantized")));
        Decoder d = load(cmd);
        applyQuantized(file, d);
        return d.model();
    }

    /** Loads {@code --quantized FILE}'s weights into {@code d} when the option is given; returns {@code d}'s model. */
    static LlamaDecoder withQuantized(CommandLine cmd, Decoder d) throws IOException {
        if (cmd.hasOption("quantized")) {
            applyQuantized(ModelFileReader.read(Path.of(cmd.getOptionValue("quantized"))), d);
        }
        return d.model();
    }

    private static void applyQuantized(QuantizedModel file, Decoder d) {
        ModelWeights.apply(file, QuantizableLlama.of(d.name(), d.model()));
    }
}
