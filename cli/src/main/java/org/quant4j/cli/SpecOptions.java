package org.quant4j.cli;

import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;

/**
 * The command-line options that describe a {@link QuantSpec}, shared by the commands that quantize:
 * a format name (with its usual defaults) refined by {@code --bits}, {@code --asym}, {@code --group-size} /
 * {@code --granularity} and {@code --scale-encoding}, or the full JSON with {@code --spec}.
 */
final class SpecOptions {
    static final String FORMATS = "int (default), ternary, nf4, nf4-dq, fp8-e4m3, fp8-e5m2, mxfp4, nvfp4, fp4";
    /** The options that build a spec piece by piece, which {@code --spec} replaces. */
    private static final String[] REFINEMENTS = {"format", "bits", "asym", "group-size", "granularity", "scale-encoding"};

    private SpecOptions() {}

    static void addTo(Options o) {
        o.addOption(Option.builder().longOpt("format").hasArg().argName("NAME").desc("element format: " + FORMATS).build());
        o.addOption(Option.builder().longOpt("bits").hasArg().argName("B").desc("integer bits 2..8 (format int; default 4)").build());
        o.addOption(Option.builder().longOpt("asym").desc("asymmetric integer grid with a zero point (format int)").build());
        o.addOption(Option.builder().longOpt("group-size").hasArg().argName("G")
                .desc("one scale per G consecutive input columns of a row").build());
        o.addOption(Option.builder().longOpt("granularity").hasArg().argName("tensor|channel|group:G")
                .desc("scale granularity (default: the format's: int channel, nf4 group:64, mxfp4 group:32, ...)").build());
        o.addOption(Option.builder().longOpt("scale-encoding").hasArg().argName("ENC")
                .desc("how scales are stored: FP32, FP16, BF16, E8M0, E4M3").build());
        o.addOption(Option.builder().longOpt("spec").hasArg().argName("JSON")
                .desc("the whole spec as JSON, e.g. {\"format\":\"INT\",\"bits\":4,\"granularity\":\"group:128\"}").build());
    }

    static QuantSpec parse(CommandLine cmd) {
        try {
            if (cmd.hasOption("spec")) {
                for (String o : REFINEMENTS) {
                    if (cmd.hasOption(o)) {
                        throw new UsageException("give --spec or --" + o + ", not both: --spec is the whole spec");
                    }
                }
                return QuantSpec.fromJson(cmd.getOptionValue("spec"));
            }
            String format = cmd.getOptionValue("format", "int").toLowerCase(Locale.ROOT);
            QuantSpec.Builder b = switch (format) {
                case "int" -> QuantSpec.builder().format(Format.INT);
                case "ternary" -> QuantSpec.ternary().toBuilder();
                case "nf4" -> QuantSpec.nf4(false).toBuilder();
                case "nf4-dq" -> QuantSpec.nf4(true).toBuilder();
                case "fp8-e4m3", "fp8" -> QuantSpec.fp8E4M3().toBuilder();
                case "fp8-e5m2" -> QuantSpec.fp8E5M2().toBuilder();
                case "mxfp4" -> QuantSpec.mxfp4().toBuilder();
                case "nvfp4" -> QuantSpec.nvfp4().toBuilder();
                case "fp4" -> QuantSpec.builder().format(Format.FP4_E2M1).groupSize(32).scaleEncoding(NumberEncoding.FP16);
                default -> throw new UsageException("unknown format '" + format + "'; formats: " + FORMATS);
            };
            if (cmd.hasOption("bits")) {
                b.bits(parseInt(cmd, "bits"));
            }
            if (cmd.hasOption("asym")) {
                b.asymmetric();
            }
            if (cmd.hasOption("group-size") && cmd.hasOption("granularity")) {
                throw new UsageException("give --group-size or --granularity, not both");
            }
            if (cmd.hasOption("group-size")) {
                b.groupSize(parseInt(cmd, "group-size"));
            }
            if (cmd.hasOption("granularity")) {
                b.granularity(Granularity.parse(cmd.getOptionValue("granularity")));
            }
            if (cmd.hasOption("scale-encoding")) {
                String e = cmd.getOptionValue("scale-encoding").toUpperCase(Locale.ROOT);
                try {
                    b.scaleEncoding(NumberEncoding.valueOf(e));
                } catch (IllegalArgumentException ex) {
                    throw new UsageException("unknown scale encoding '" + e + "'; use FP32, FP16, BF16, E8M0 or E4M3");
                }
            }
            return b.build();
        } catch (QuantizationException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static int parseInt(CommandLine cmd, String opt) {
        String v = cmd.getOptionValue(opt);
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + opt + " expects an integer, got '" + v + "'");
        }
    }
}
