package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.gguf.GgmlType;
import org.quant4j.core.io.gguf.GgufExport;
import org.quant4j.core.io.gguf.QuantMix;
import org.quant4j.model.llm.GgufDecoders;

/**
 * {@code quant4j export --in q.q4j --model source.gguf --out q.gguf [--mix q4_k_m | --requantize TYPE]}: a decoder
 * quantized by {@code quant4j ptq --model source.gguf} written as a whole GGUF that llama.cpp runs: the source's
 * metadata and tokenizer, weights under their GGUF names, typed as llama-quantize types the mix, or converted exactly
 * where ggml has the grid and re-quantized to {@code --requantize} otherwise.
 */
final class DecoderGgufExport {
    private DecoderGgufExport() {
    }

    static void addTo(Options o) {
        o.addOption(Option.builder().longOpt("mix").hasArg().argName("MIX")
                .desc("with --model FILE.gguf: the tensor types of llama-quantize's mix (q2_k, q3_k_m, q4_k_m, q5_k_m, "
                        + "q6_k, q8_0)").build());
    }

    /** Whether the command exports a decoder: {@code --model FILE.gguf}. */
    static boolean selected(CommandLine cmd) {
        return cmd.hasOption("model") && cmd.getOptionValue("model").toLowerCase(Locale.ROOT).endsWith(".gguf");
    }

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        Path source = Path.of(cmd.getOptionValue("model"));
        if (!Files.isRegularFile(source)) {
            throw new UsageException("--model " + source + ": no such file (the GGUF decoder that was quantized)");
        }
        if (cmd.hasOption("mix") && cmd.hasOption("requantize")) {
            throw new UsageException("--mix types every tensor itself; it does not take --requantize");
        }
        for (String ggufOnly : new String[]{"arch", "name"}) {
            if (cmd.hasOption(ggufOnly)) {
                throw new UsageException("--" + ggufOnly + " comes from --model " + source + " for a decoder export");
            }
        }
        QuantizedModel model = ModelFileReader.read(Path.of(cmd.getOptionValue("in")));
        GgufExport.Options options;
        try {
            options = cmd.hasOption("mix") ? GgufDecoders.exportOptions(source, QuantMix.parse(cmd.getOptionValue("mix")))
                    : GgufDecoders.exportOptions(source, cmd.hasOption("requantize")
                            ? ExportCommand.requantizeType(cmd.getOptionValue("requantize")) : (GgmlType) null);
        } catch (InvalidSpecException e) {
            throw new UsageException(e.getMessage());
        }
        Path target = Path.of(cmd.getOptionValue("out"));
        List<GgufExport.Entry> entries = GgufExport.write(model, target, options);
        long exact = entries.stream().filter(e -> e.conversion() == GgufExport.Conversion.EXACT).count();
        long requantized = entries.stream().filter(e -> e.conversion() == GgufExport.Conversion.REQUANTIZED).count();
        out.printf(Locale.ROOT, "wrote %s: %d tensors (%d exact, %d re-quantized, %d float), %,d bytes; llama.cpp "
                + "runs it%n", target, entries.size(), exact, requantized, entries.size() - exact - requantized,
                Files.size(target));
        return Main.OK;
    }
}
