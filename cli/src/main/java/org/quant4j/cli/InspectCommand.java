package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.PrintableText;

/**
 * {@code quant4j inspect FILE}: reads (and so fully verifies) a model file and prints per tensor its shape,
 * format (a spec's short name, {@code claq} or {@code fp32}), bits per weight (all stored bytes) and bytes, then the file's size next to the fp32 and fp16 sizes of the same
 * tensors — the size table GGUF users know.
 */
final class InspectCommand implements Command {
    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String summary() {
        return "verify a quant4j model file and print its tensors and sizes";
    }

    @Override
    public String arguments() {
        return "FILE";
    }

    @Override
    public Options options() {
        return new Options();
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        if (cmd.getArgList().size() != 1) {
            throw new UsageException("expected exactly one model file, got " + cmd.getArgList().size());
        }
        Path file = Path.of(cmd.getArgList().get(0));
        QuantizedModel model = ModelFileReader.read(file);
        out.printf("file: %s%n", PrintableText.escape(file.toString()));
        out.printf("source model: %s%n", PrintableText.escape(model.sourceModel()));
        for (Map.Entry<String, String> m : model.metadata().entrySet()) {
            out.printf("  %s: %s%n", PrintableText.escape(m.getKey()), PrintableText.escape(m.getValue()));
        }
        out.println();
        out.printf("%-32s %-16s %-22s %8s %12s%n", "tensor", "shape", "format", "bits/w", "bytes");
        for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
            QuantizedTensor t = e.getValue();
            row(out, e.getKey(), t.shape(), t.spec().shortName(), t.size(), t.storageBytes());
        }
        for (Map.Entry<String, ClaqTensor> e : model.claqTensors().entrySet()) {
            ClaqTensor t = e.getValue();
            row(out, e.getKey(), t.shape(), "claq", t.size(), t.storageBytes());
        }
        for (Map.Entry<String, FloatTensor> e : model.floatTensors().entrySet()) {
            FloatTensor t = e.getValue();
            row(out, e.getKey(), t.shape(), "fp32", t.size(), 4L * t.size());
        }
        long fileBytes = Files.size(file);
        long params = model.parameterCount();
        out.println();
        out.printf(Locale.ROOT, "parameters: %d   stored tensor bytes: %d (%s)%n", params, model.storedBytes(),
                bitsPerWeight(model.storedBytes(), params));
        out.printf(Locale.ROOT, "%-10s %12s %10s%n", "size", "bytes", "vs file");
        out.printf(Locale.ROOT, "%-10s %12d %10s%n", "file", fileBytes, "1.00x");
        out.printf(Locale.ROOT, "%-10s %12d %9.2fx%n", "fp16", model.fp16Bytes(), (double) model.fp16Bytes() / fileBytes);
        out.printf(Locale.ROOT, "%-10s %12d %9.2fx%n", "fp32", model.fp32Bytes(), (double) model.fp32Bytes() / fileBytes);
        return Main.OK;
    }

    /** One tensor's line; the name from the file is escaped, and an empty tensor says so instead of a ratio. */
    private static void row(PrintStream out, String name, long[] shape, String format, long size, long bytes) {
        out.printf(Locale.ROOT, "%-32s %-16s %-22s %8s %12d%n", PrintableText.escape(name), Shapes.format(shape), format,
                size == 0 ? "empty" : String.format(Locale.ROOT, "%.3f", 8.0 * bytes / size), bytes);
    }

    private static String bitsPerWeight(long bytes, long weights) {
        return weights == 0 ? "no weights" : String.format(Locale.ROOT, "%.3f bits/weight", 8.0 * bytes / weights);
    }
}
