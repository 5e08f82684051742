package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.AtomicFileWriter;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.PrintableText;
import org.quant4j.core.io.gguf.GgmlType;
import org.quant4j.core.io.gguf.GgufExport;

/**
 * {@code quant4j export --in model.q4j --out model.gguf [--requantize TYPE]} (any ggml type with a codec): writes a
 * quant4j model file as GGUF ({@link GgufExport}); {@code --format onnx} writes a quantized sentence encoder as ONNX
 * instead ({@link OnnxExport}). Tensors whose grid is a ggml type are converted exactly;
 * the others are refused unless {@code --requantize} names the type to re-quantize them into.
 */
final class ExportCommand implements Command {
    private static final List<GgmlType> REQUANTIZE = java.util.Arrays.stream(GgmlType.values())
            .filter(GgmlType::hasCodec).toList();
    private static final String TYPES = String.join(", ",
            REQUANTIZE.stream().map(t -> t.name().toLowerCase(Locale.ROOT)).toList());

    @Override
    public String name() {
        return "export";
    }

    @Override
    public String summary() {
        return "write a quant4j model file as GGUF (exact Q8_0/Q5_x/Q4_x where the grids match) or, for a sentence "
                + "encoder, as ONNX that ONNX Runtime runs (--format onnx)";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder("i").longOpt("in").hasArg().argName("FILE").required()
                .desc("the quant4j model file to export").build());
        o.addOption(Option.builder("o").longOpt("out").hasArg().argName("FILE").required()
                .desc("the GGUF file to write (replaced atomically)").build());
        o.addOption(Option.builder().longOpt("requantize").hasArg().argName("TYPE")
                .desc("re-quantize tensors without an exact GGUF type from their dequantized values into TYPE:"
                        + " one of " + TYPES + " (default: refuse them)").build());
        o.addOption(Option.builder().longOpt("arch").hasArg().argName("NAME")
                .desc("general.architecture (default quant4j)").build());
        o.addOption(Option.builder().longOpt("name").hasArg().argName("NAME")
                .desc("general.name (default: the model's source)").build());
        o.addOption(Option.builder().longOpt("format").hasArg().argName("gguf|onnx")
                .desc("gguf (default) or onnx: a sentence encoder ONNX Runtime runs (see --model)").build());
        OnnxExport.addTo(o);
        DecoderGgufExport.addTo(o);
        return o;
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        if (!cmd.getArgList().isEmpty()) {
            throw new UsageException("unexpected arguments " + cmd.getArgList());
        }
        if (OnnxExport.selected(cmd)) {
            return OnnxExport.run(cmd, out);
        }
        if (DecoderGgufExport.selected(cmd)) {
            return DecoderGgufExport.run(cmd, out);
        }
        if (cmd.hasOption("mix")) {
            throw new UsageException("--mix goes with --model FILE.gguf (the decoder that was quantized)");
        }
        GgufExport.Options options = GgufExport.Options.defaults();
        if (cmd.hasOption("requantize")) {
            options = options.requantize(requantizeType(cmd.getOptionValue("requantize")));
        }
        if (cmd.hasOption("arch")) {
            options = options.architecture(cmd.getOptionValue("arch"));
        }
        if (cmd.hasOption("name")) {
            options = options.name(cmd.getOptionValue("name"));
        }
        Path in = Path.of(cmd.getOptionValue("in"));
        Path target = Path.of(cmd.getOptionValue("out"));
        AtomicFileWriter.checkTarget(target); // before the work: a bad --out fails as the write would
        QuantizedModel model = ModelFileReader.read(in);
        List<GgufExport.Entry> entries;
        try {
            entries = GgufExport.write(model, target, options);
        } catch (GgufExport.NoExactTypeException e) {
            throw new QuantizationException(e.problem() + "; re-quantize it with --requantize "
                    + e.suggestion().name().toLowerCase(Locale.ROOT) + " (or another of " + TYPES + ")");
        }
        out.printf("%-32s %-8s %-12s %s%n", "tensor", "type", "conversion", "source");
        for (GgufExport.Entry e : entries) {
            out.printf("%-32s %-8s %-12s %s%n", PrintableText.escape(e.name()), e.type().name().toLowerCase(Locale.ROOT),
                    e.conversion().name().toLowerCase(Locale.ROOT), PrintableText.escape(e.source()));
        }
        out.printf("wrote %s (%d bytes, %d tensors)%n", PrintableText.escape(target.toString()), Files.size(target),
                entries.size());
        return Main.OK;
    }

    static GgmlType requantizeType(String value) {
        for (GgmlType t : REQUANTIZE) {
            if (t.name().equalsIgnoreCase(value.trim())) {
                return t;
            }
        }
        throw new UsageException("--requantize must be one of " + TYPES + ", got '" + value + "'");
    }
}
