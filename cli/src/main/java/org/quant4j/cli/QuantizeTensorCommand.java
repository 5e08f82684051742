package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.AtomicFileWriter;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.core.io.NpyFile;
import org.quant4j.core.io.PrintableText;

/**
 * {@code quant4j quantize-tensor}: the smallest real job. Quantizes one or more fp32 {@code .npy} arrays
 * with a spec into a quant4j model file (one tensor per input, named after the file), and prints the
 * per-tensor error.
 */
final class QuantizeTensorCommand implements Command {
    @Override
    public String name() {
        return "quantize-tensor";
    }

    @Override
    public String summary() {
        return "quantize .npy arrays with a spec into a quant4j model file";
    }

    @Override
    public String arguments() {
        return "INPUT.npy...";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder("o").longOpt("out").hasArg().argName("FILE").required()
                .desc("the model file to write (written atomically; an existing file is replaced only on success)").build());
        SpecOptions.addTo(o);
        return o;
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        if (cmd.getArgList().isEmpty()) {
            throw new UsageException("no input: give one or more .npy files");
        }
        QuantSpec spec = SpecOptions.parse(cmd);
        Path target = Path.of(cmd.getOptionValue("out"));
        AtomicFileWriter.checkTarget(target); // before the work: a bad --out fails as the write would
        QuantizedModel.Builder model = QuantizedModel.builder().sourceModel(String.join(",", cmd.getArgList()))
                .metadata("command", "quantize-tensor").metadata("spec", spec.toJson());
        Set<String> names = new HashSet<>();
        out.printf("%-24s %-18s %-16s %10s %12s %12s%n", "tensor", "shape", "spec", "bits/w", "rmse", "max|err|");
        for (String input : cmd.getArgList()) {
            Path file = Path.of(input);
            String name = file.getFileName().toString().replaceFirst("\\.npy$", "");
            if (!names.add(name)) {
                throw new UsageException("two inputs are named '" + name + "'; tensor names must be unique");
            }
            NpyFile.Array a = NpyFile.read(file);
            QuantizedTensor q = Quantizer.quantize(name, a.data(), a.shape(), spec);
            Quantizer.refuseAllZero(name, a.data(), q);
            float[] back = q.dequantizeToArray();
            double sq = 0;
            double max = 0;
            for (int i = 0; i < back.length; i++) {
                double e = Math.abs((double) back[i] - a.data()[i]);
                sq += e * e;
                max = Math.max(max, e);
            }
            out.printf("%-24s %-18s %-16s %10.3f %12.4g %12.4g%n", PrintableText.escape(name), Shapes.format(a.shape()),
                    spec.shortName(), q.bitsPerWeight(), Math.sqrt(sq / back.length), max);
            model.addQuantized(name, q);
        }
        ModelFileWriter.write(target, model.build());
        out.printf("wrote %s (%s)%n", PrintableText.escape(target.toString()), Shapes.bytes(Files.size(target)));
        return Main.OK;
    }
}
