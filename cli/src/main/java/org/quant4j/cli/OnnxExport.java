package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.bert.SentenceEncoder;
import org.quant4j.model.bert.onnx.BertOnnxExport;
import org.quant4j.model.onnx.OnnxExportException;

/**
 * {@code quant4j export --format onnx --model minilm|FILE.onnx [--tokenizer tokenizer.json --pooling MODE] --in m.q4j
 * --out enc.onnx [--quantize-embeddings [int8|int8-tensor|int4|int4-asym]] [--g-idx]}: a quantized sentence encoder as an ONNX file that
 * ONNX Runtime runs ({@link BertOnnxExport}), checked by ONNX Runtime against our forward before it is written.
 */
final class OnnxExport {
    static final String FORMAT = "onnx";

    private OnnxExport() {
    }

    /** The options {@code --format onnx} adds to export's (with EncoderModelOptions' --tokenizer and --pooling). */
    static void addTo(Options o) {
        o.addOption(Option.builder().longOpt("model").hasArg().argName("minilm|FILE.onnx")
                .desc("with --format onnx: the fp32 encoder the model file was quantized from").build());
        o.addOption(Option.builder().longOpt("quantize-embeddings").hasArg().optionalArg(true).argName("SPEC")
                .desc("with --format onnx: store the word and position tables quantized too: int8 (blocks of 128, the "
                        + "default), int8-tensor (one scale per table, as ONNX Runtime's int8 export) or int4 (blocks "
                        + "of 32)").build());
        o.addOption(Option.builder().longOpt("g-idx")
                .desc("with --format onnx: write GPTQ act-order weights with MatMulNBits' g_idx (4-bit only, slower "
                        + "kernel) instead of reordered inputs").build());
        EncoderModelOptions.addTo(o);
    }

    /**
     * Whether {@code --format} asks for ONNX; for GGUF (the default) the ONNX-only options are refused.
     *
     * @throws UsageException for another format, or ONNX-only options with GGUF
     */
    static boolean selected(CommandLine cmd) {
        String format = cmd.getOptionValue("format", "gguf").toLowerCase(Locale.ROOT);
        if (format.equals(FORMAT)) {
            return true;
        }
        if (!format.equals("gguf")) {
            throw new UsageException("--format must be gguf or onnx, got '" + format + "'");
        }
        for (String onnxOnly : new String[]{"model", "tokenizer", "pooling", "quantize-embeddings", "g-idx"}) {
            if (cmd.hasOption(onnxOnly) && !(onnxOnly.equals("model") && DecoderGgufExport.selected(cmd))) {
                throw new UsageException("--" + onnxOnly + " goes with --format onnx (GGUF export needs only --in)");
            }
        }
        return false;
    }

    static int run(CommandLine cmd, PrintStream out) throws Exception {
        for (String ggufOnly : new String[]{"requantize", "arch", "name"}) {
            if (cmd.hasOption(ggufOnly)) {
                throw new UsageException("--" + ggufOnly + " is for --format gguf, not --format onnx");
            }
        }
        if (!cmd.hasOption("model")) {
            throw new UsageException("--format onnx needs --model minilm|FILE.onnx (the encoder the model file was "
                    + "quantized from)");
        }
        if (!EncoderModelOptions.wanted(cmd)) {
            throw new UsageException("--format onnx exports sentence encoders: --model minilm or FILE.onnx, not "
                    + cmd.getOptionValue("model"));
        }
        BertOnnxExport.Options options = BertOnnxExport.Options.defaults().withGroupIndex(cmd.hasOption("g-idx"));
        if (cmd.hasOption("quantize-embeddings")) {
            String spec = cmd.getOptionValue("quantize-embeddings", "int8").toLowerCase(Locale.ROOT);
            if (!BertOnnxExport.EMBEDDING_SPECS.contains(spec)) {
                throw new UsageException("--quantize-embeddings must be one of " + BertOnnxExport.EMBEDDING_SPECS
                        + ", got '" + spec + "'");
            }
            options = options.withEmbeddings(BertOnnxExport.embeddingSpec(spec));
        }
        Path in = Path.of(cmd.getOptionValue("in"));
        Path target = Path.of(cmd.getOptionValue("out"));
        SentenceEncoder encoder = EncoderModelOptions.load(cmd, out);
        QuantizedModel model = ModelFileReader.read(in);
        BertOnnxExport.Exported e;
        try {
            e = BertOnnxExport.write(encoder, model, target, options);
        } catch (OnnxExportException refused) {
            throw new OnnxExportException(in + ": " + refused.getMessage() + "; nothing written");
        }
        out.printf("weights: %d MatMulNBits, %d DequantizeLinear -> MatMul, %d AWQ input scales (Div); embeddings %s%n",
                e.matMulNBits(), e.dequantizeLinear(), e.inputScales(), e.embeddings() == null ? "fp32" : e.embeddings());
        out.println("export check: " + e.check());
        out.printf(Locale.ROOT, "wrote %s (%,d bytes)%n", target, e.onnx().length);
        return Main.OK;
    }
}
