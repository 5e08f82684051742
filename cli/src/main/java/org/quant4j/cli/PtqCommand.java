package org.quant4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.hqq.Hqq;
import org.quant4j.ptq.RangeSearch;
import org.quant4j.ptq.rtn.Rtn;
import org.quant4j.ptq.GridSolver;
import org.quant4j.calibration.CalibrationData;
import org.quant4j.ptq.pipeline.GroupFallback;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqReport;
import org.quant4j.ptq.pipeline.PtqResult;

/**
 * {@code quant4j ptq}: post-training quantization of a DL4J model zip with RTN, GPTQ, HQQ, AWQ or CLAQ
 * ({@link PtqPipeline}),
 * writing a quant4j model file (only when every layer succeeded) and optionally a report directory.
 */
final class PtqCommand implements Command {
    private static final int DEFAULT_CALIB_SAMPLES = 512;
    private static final int DEFAULT_HELD_OUT_SAMPLES = 256;
    private static final int BATCH = 128;
    private static final double DEFAULT_CLAQ_BITS = 2.5;

    @Override
    public String name() {
        return "ptq";
    }

    @Override
    public String summary() {
        return "post-training quantization of a DL4J model zip or a sentence encoder (minilm or FILE.onnx) with rtn, "
                + "gptq, hqq, awq or claq into a quant4j model file";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("model").hasArg().argName("FILE").required()
                .desc("DL4J model zip (MultiLayerNetwork or ComputationGraph, ModelSerializer format), or 'minilm' for "
                        + "all-MiniLM-L6-v2, or a BERT-family sentence encoder FILE.onnx with --tokenizer, or a Llama-family "
                        + "decoder FILE.gguf (encoders and decoders calibrate on State of the Union text, or --calib FILE "
                        + "with one sentence or passage per line)").build());
        o.addOption(Option.builder("o").longOpt("out").hasArg().argName("FILE").required()
                .desc("quant4j model file to write (written only if every layer succeeds)").build());
        o.addOption(Option.builder().longOpt("method").hasArg().argName("rtn|gptq|hqq|awq|claq")
                .desc("weight solver (default gptq); hqq always uses asymmetric FP16 zero points; awq is asymmetric by "
                        + "default; awq and claq need calibration data").build());
        o.addOption(Option.builder().longOpt("claq-bits").hasArg().argName("BITS")
                .desc("claq: average code bits per weight of its adaptive precision (default 2.5)").build());
        o.addOption(Option.builder().longOpt("claq-outliers")
                .desc("claq: Outlier Reservation with the reference's ratios (10% of the columns keep their 1.4% largest "
                        + "and smallest weights in FP16, the others 0.4%)").build());
        EncoderModelOptions.addTo(o);
        o.addOption(Option.builder().longOpt("max-tokens").hasArg().argName("N")
                .desc("encoders: calibration sequences are truncated to N tokens (default 128, at most the model's positions)")
                .build());
        o.addOption(Option.builder().longOpt("bits").hasArg().argName("B").desc("integer bits 2..8 (default 4)").build());
        o.addOption(Option.builder().longOpt("group-size").hasArg().argName("G")
                .desc("input columns per scale (default 128; -1: one scale per output channel)").build());
        o.addOption(Option.builder().longOpt("asym").desc("asymmetric grid with zero points (rtn, gptq)").build());
        o.addOption(Option.builder().longOpt("awq-gptq")
                .desc("awq: after AWQ's input scales, quantize the scaled weight with GPTQ on the scaled inputs' Hessian "
                        + "instead of the clip search and round-to-nearest (takes --act-order and --range)").build());
        o.addOption(Option.builder().longOpt("act-order")
                .desc("gptq, awq --awq-gptq: columns by decreasing Hessian diagonal").build());
        o.addOption(Option.builder().longOpt("range").hasArg().argName("minmax|mse")
                .desc("rtn, gptq, awq --awq-gptq: each group's range from its min/max (default) or GPTQ's error search "
                        + "(find_params mse=True: 80 shrinks, norm 2.4)").build());
        o.addOption(Option.builder().longOpt("group-fallback").hasArg().argName("refuse|largest-divisor|channel")
                .desc("layers whose width G does not divide: refuse (default), the largest divisor of the width "
                        + "below G, or one scale per channel").build());
        o.addOption(Option.builder().longOpt("calib").hasArg().argName("DATA")
                .desc("calibration data: mnist (required by gptq; rtn/hqq use it to measure output error); encoders: "
                        + "sotu (single sentences, default), sotu-passages (90-word passages) or a text FILE (one "
                        + "sentence or passage per line)").build());
        o.addOption(Option.builder().longOpt("calib-samples").hasArg().argName("N")
                .desc("calibration examples: the first N training digits (default " + DEFAULT_CALIB_SAMPLES
                        + "); encoders: N sequences (default 512 sentences or 128 "
                        + "passages, or every line of a --calib FILE)").build());
        o.addOption(Option.builder().longOpt("held-out-samples").hasArg().argName("N")
                .desc("examples for the output error, the last N training digits (default " + DEFAULT_HELD_OUT_SAMPLES
                        + ")").build());
        o.addOption(Option.builder().longOpt("bias-correction")
                .desc("after quantizing, shift every layer's bias so its mean output over the calibration data is the "
                        + "float model's, b' = b + W·E[x] − Ŵ·E[x̂], layer by layer in model order (Finkelstein et al. "
                        + "2019; off by default); needs calibration data").build());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("S").desc("seed of the row samples (default 0)").build());
        o.addOption(Option.builder().longOpt("report").hasArg().argName("DIR")
                .desc("write report.json, report.md and error-by-layer.png there").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        if (EncoderModelOptions.wanted(cmd)) {
            return EncoderPtq.run(cmd, out);
        }
        if (DecoderModelOptions.wanted(cmd)) {
            return DecoderPtq.run(cmd, out);
        }
        EncoderModelOptions.refuseForDl4j(cmd);
        Path modelFile = Path.of(cmd.getOptionValue("model"));
        Path outFile = Path.of(cmd.getOptionValue("out"));
        String method = cmd.getOptionValue("method", "gptq").toLowerCase(Locale.ROOT);
        ClaqParams claq = claqParams(cmd, method);
        GridSolver solver = claq == null ? solver(cmd, method) : null;
        QuantSpec spec = claq == null ? spec(cmd, method, method.equals("awq")) : null; // AutoAWQ: zero_point=True
        String fallbackName = cmd.getOptionValue("group-fallback", "refuse");
        GroupFallback fallback = fallback(fallbackName);
        PtqPipeline.Builder pipeline = (claq == null ? PtqPipeline.builder(solver, spec) : PtqPipeline.builder(new Claq(claq)))
                .groupFallback(fallback)
                .sourceModel(modelFile.getFileName().toString())
                .seed(cmd.hasOption("seed") ? SpecOptions.parseInt(cmd, "seed") : 0);
        if (cmd.hasOption("calib")) {
            MnistData.require(cmd, "calib");
            int calib = count(cmd, "calib-samples", DEFAULT_CALIB_SAMPLES);
            int heldOut = count(cmd, "held-out-samples", DEFAULT_HELD_OUT_SAMPLES);
            int train = MnistData.digits().train().size();
            if (calib + heldOut > train) {
                throw new UsageException("--calib-samples " + calib + " and --held-out-samples " + heldOut
                        + " together exceed the " + train + " MNIST training digits");
            }
            pipeline.calibration(CalibrationData.of(MnistData.trainRows(0, calib), BATCH,
                    "MNIST train digits 0.." + (calib - 1)));
            pipeline.heldOut(CalibrationData.of(MnistData.trainRows(train - heldOut, train), BATCH,
                    "MNIST train digits " + (train - heldOut) + ".." + (train - 1)));
        } else if (claq != null || solver.needsCalibration()) {
            throw new UsageException(method + " needs calibration data: add --calib mnist");
        } else if (cmd.hasOption("bias-correction")) {
            throw new UsageException("--bias-correction needs calibration data: add --calib mnist");
        }
        pipeline.biasCorrection(cmd.hasOption("bias-correction"));

        Dl4jModelFile input = Dl4jModelFile.read(modelFile);
        out.printf("%s: %s, %d quantizable weights; %s %s, group fallback %s%s%n", modelFile, input.kind(),
                input.view().targets().size(), claq == null ? solver.name() : method, claq == null ? spec.shortName() : claq,
                fallbackName,
                cmd.hasOption("bias-correction") ? ", bias correction" : "");
        LayerProgress progress = new LayerProgress(out, System.err);
        PtqResult<?> result;
        try {
            PtqPipeline p = pipeline.listener(progress).build();
            result = input.isGraph() ? p.quantize(input.graph()) : p.quantize(input.network());
        } finally {
            progress.close();
        }
        if (result.report().biasCorrection()) {
            result.report().layers().forEach(l -> out.printf("%-24s %s%n", l.layer(), l.note()));
        }
        return writeOutputs(cmd, out, outFile, result.model(), result.report());
    }

    /** Writes the model file and, with {@code --report DIR}, the report; prints what was written. */
    static int writeOutputs(CommandLine cmd, PrintStream out, Path outFile, QuantizedModel model, PtqReport report)
            throws IOException {
        ModelFileWriter.write(outFile, model);
        out.printf(Locale.ROOT, "wrote %s: %d bytes, %.3f bits per quantized weight, %.1f s%n", outFile,
                Files.size(outFile), report.bitsPerWeight(), report.totalSeconds());
        if (cmd.hasOption("report")) {
            Path dir = Path.of(cmd.getOptionValue("report"));
            report.write(dir);
            out.printf("report: %s, %s, %s%n", dir.resolve("report.md"), dir.resolve("report.json"),
                    dir.resolve("error-by-layer.png"));
        }
        return Main.OK;
    }

    /**
     * The solver of {@code method} with the {@code --act-order}, {@code --range} and {@code --awq-gptq} options
     * (the first two for gptq, and for awq only with {@code --awq-gptq}, whose GPTQ step they configure).
     */
    static GridSolver solver(CommandLine cmd, String method) {
        boolean awqGptq = awqGptq(cmd, method);
        boolean gptqOptions = method.equals("gptq") || awqGptq;
        boolean actOrder = cmd.hasOption("act-order");
        if (actOrder && !gptqOptions) {
            throw new UsageException("--act-order applies to gptq, and to awq with --awq-gptq, only");
        }
        String rangeName = cmd.getOptionValue("range", "minmax").toLowerCase(Locale.ROOT);
        if (!rangeName.equals("minmax") && !rangeName.equals("mse")) {
            throw new UsageException("--range expects minmax or mse, got '" + rangeName + "'");
        }
        boolean mse = rangeName.equals("mse");
        if (cmd.hasOption("range") && !method.equals("rtn") && !gptqOptions) {
            throw new UsageException("--range applies to rtn, gptq, and awq with --awq-gptq, only");
        }
        Gptq gptq = gptqOptions ? Gptq.builder().actOrder(actOrder).range(mse ? RangeSearch.mse() : RangeSearch.minMax())
                .build() : null;
        return switch (method) {
            case "rtn" -> mse ? Rtn.mse() : new Rtn();
            case "gptq" -> gptq;
            case "hqq" -> new Hqq();
            case "awq" -> awqGptq ? Awq.builder().gptq(gptq).build() : new Awq();
            default -> throw new UsageException("unknown --method '" + method + "'; methods: rtn, gptq, hqq, awq, claq");
        };
    }

    /** Whether {@code --awq-gptq} is given; refused for methods other than awq. */
    static boolean awqGptq(CommandLine cmd, String method) {
        boolean wanted = cmd.hasOption("awq-gptq");
        if (wanted && !method.equals("awq")) {
            throw new UsageException("--awq-gptq applies to --method awq only (it quantizes AWQ's scaled weights with"
                    + " GPTQ), got --method " + method);
        }
        return wanted;
    }

    /**
     * CLAQ's options for {@code --method claq} (adaptive precision to {@code --claq-bits}, default 2.5, and
     * {@code --claq-outliers}), or null for the other methods; refuses the options that do not apply (for claq:
     * {@code --bits}, {@code --group-size}, {@code --asym}, and the GPTQ/AWQ solver options, which {@link #solver}
     * checks for the other methods).
     */
    static ClaqParams claqParams(CommandLine cmd, String method) {
        if (!method.equals("claq")) {
            if (cmd.hasOption("claq-bits") || cmd.hasOption("claq-outliers")) {
                throw new UsageException("--claq-bits and --claq-outliers apply to --method claq only");
            }
            return null;
        }
        if (cmd.hasOption("bits") || cmd.hasOption("group-size") || cmd.hasOption("asym")) {
            throw new UsageException("claq takes its width from --claq-bits (default " + DEFAULT_CLAQ_BITS
                    + "), not --bits/--group-size/--asym");
        }
        for (String gptqOnly : new String[] {"act-order", "range", "awq-gptq"}) {
            if (cmd.hasOption(gptqOnly)) {
                throw new UsageException("--" + gptqOnly + " does not apply to --method claq (CLAQ quantizes with its own"
                        + " column codebooks in GPTQ's column order; it applies to gptq" + (gptqOnly.equals("range")
                        ? ", rtn" : "") + " and awq --awq-gptq)");
            }
        }
        double bits = DEFAULT_CLAQ_BITS;
        if (cmd.hasOption("claq-bits")) {
            String v = cmd.getOptionValue("claq-bits");
            try {
                bits = Double.parseDouble(v.trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--claq-bits expects a number of bits such as 2.5, got '" + v + "'");
            }
        }
        try {
            return ClaqParams.builder().adaptivePrecision(bits).reserveOutliers(cmd.hasOption("claq-outliers")).build();
        } catch (QuantizationException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /**
     * The spec of {@code --bits} (default 4) and {@code --group-size} (default 128, -1 per channel); asymmetric with
     * {@code --asym} or when {@code asymmetricByDefault}; hqq's zero points are FP16 (its fractional zero survives).
     */
    static QuantSpec spec(CommandLine cmd, String method, boolean asymmetricByDefault) {
        int bits = cmd.hasOption("bits") ? SpecOptions.parseInt(cmd, "bits") : 4;
        int group = cmd.hasOption("group-size") ? SpecOptions.parseInt(cmd, "group-size") : 128;
        try {
            QuantSpec.Builder b = QuantSpec.builder().bits(bits);
            if (group == -1) {
                b.perChannel();
            } else {
                b.groupSize(group);
            }
            if (method.equals("hqq")) {
                b.asymmetric().zeroEncoding(NumberEncoding.FP16);
            } else if (cmd.hasOption("asym") || asymmetricByDefault) {
                b.asymmetric();
            }
            return b.build();
        } catch (QuantizationException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The {@code --group-fallback} policy: refuse, largest-divisor or channel. */
    static GroupFallback fallback(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "refuse" -> GroupFallback.REFUSE;
            case "largest-divisor" -> GroupFallback.LARGEST_DIVISOR;
            case "channel" -> GroupFallback.PER_CHANNEL;
            default -> throw new UsageException("unknown --group-fallback '" + name
                    + "'; policies: refuse, largest-divisor, channel");
        };
    }

    private static int count(CommandLine cmd, String option, int fallback) {
        int n = cmd.hasOption(option) ? SpecOptions.parseInt(cmd, option) : fallback;
        if (n < 1) {
            throw new UsageException("--" + option + " must be at least 1, got " + n);
        }
        return n;
    }
}
