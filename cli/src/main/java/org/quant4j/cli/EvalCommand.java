package org.quant4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.deeplearning4j.nn.api.Model;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.ptq.pipeline.QuantizedWeights;

/**
 * {@code quant4j eval}: test accuracy of a DL4J model zip, and with {@code --quantized} of the same network carrying
 * the dequantized weights of a quant4j model file (loaded back by tensor name); with {@code --model minilm} or
 * {@code --model FILE.onnx --tokenizer tokenizer.json}, the sentence-embedding fidelity of a sentence encoder's models
 * to fp32 ({@link EncoderEval}).
 */
final class EvalCommand implements Command {
    @Override
    public String name() {
        return "eval";
    }

    @Override
    public String summary() {
        return "test accuracy of a DL4J model zip before/after loading a model file; of a sentence encoder (minilm or "
                + "FILE.onnx): embedding fidelity to fp32";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("model").hasArg().argName("FILE").required()
                .desc("DL4J model zip (MultiLayerNetwork or ComputationGraph), minilm (all-MiniLM-L6-v2), a "
                        + "BERT-family sentence encoder FILE.onnx with --tokenizer, or a Llama-family decoder FILE.gguf "
                        + "(perplexity on --text)").build());
        o.addOption(Option.builder().longOpt("quantized").hasArg().argName("FILE.q4j")
                .desc("quant4j model file whose weights replace the model's (as written by quant4j ptq)").build());
        o.addOption(Option.builder().longOpt("data").hasArg().argName("DATA")
                .desc("evaluation data: mnist, its 2,000 test digits (default); DL4J models only").build());
        EncoderModelOptions.addTo(o);
        o.addOption(Option.builder().longOpt("text").hasArg().argName("FILE")
                .desc("encoders: evaluation text, one sentence per line (default: held-out SOTU sentences)").build());
        o.addOption(Option.builder().longOpt("sentences").hasArg().argName("N")
                .desc("encoders: evaluation sentences from the SOTU corpus (default 1000)").build());
        o.addOption(Option.builder().longOpt("ctx").hasArg().argName("N")
                .desc("decoders (FILE.gguf): perplexity chunk length (default 128), as llama-perplexity's -c").build());
        o.addOption(Option.builder().longOpt("generations").hasArg().argName("N")
                .desc("decoders: greedy generations from N prompts of the text, measured for loops, repeated 4-grams "
                        + "and distinct-2 (e.g. 50; default none)").build());
        o.addOption(Option.builder().longOpt("gen-tokens").hasArg().argName("N")
                .desc("decoders: tokens per greedy generation (default 256)").build());
        o.addOption(Option.builder().longOpt("peer").hasArg().argName("FILE.onnx")
                .desc("encoders: an ONNX export of the same model run by ONNX Runtime (its int8 export, quant4j export "
                        + "--format onnx), shown as a row; repeatable").build());
        o.addOption(Option.builder().longOpt("threads").hasArg().argName("T")
                .desc("encoders: ONNX Runtime threads for the int8 peer (default: the cores)").build());
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR")
                .desc("encoders: write report.json, report.md and cosine-vs-bits.png (and --table's model files) into DIR")
                .build());
        o.addOption(Option.builder().longOpt("table").desc("encoders: quantize with every method and width and "
                + "evaluate each (the README's table); needs --out").build());
        o.addOption(Option.builder().longOpt("methods").hasArg().argName("LIST")
                .desc("--table: methods (default rtn,gptq,hqq,awq,claq)").build());
        o.addOption(Option.builder().longOpt("bits").hasArg().argName("LIST")
                .desc("--table: widths of rtn/gptq/hqq/awq (default 8,4,3,2: 8 = int8 sym per channel, "
                        + "others asym g128)").build());
        o.addOption(Option.builder().longOpt("claq-bits").hasArg().argName("LIST")
                .desc("--table: CLAQ average code bits, adaptive precision (default 4,3,2.5,2.1)").build());
        o.addOption(Option.builder().longOpt("calib").hasArg().argName("TEXT")
                .desc("--table: calibration text, sotu (single sentences, default), sotu-passages (90-word "
                        + "passages) or a FILE with one sentence or passage per line").build());
        o.addOption(Option.builder().longOpt("calib-samples").hasArg().argName("N")
                .desc("--table: calibration sequences (default 512 sentences or 128 passages, or every line of a "
                        + "FILE)").build());
        o.addOption(Option.builder().longOpt("bias-correction")
                .desc("--table: correct every dense layer's bias after quantization so its mean output on the "
                        + "calibration text is the fp32 model's (rows labelled '+ bias correction')").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        if (EncoderModelOptions.wanted(cmd)) {
            return EncoderEval.run(cmd, out);
        }
        if (DecoderModelOptions.wanted(cmd)) {
            return DecoderEval.run(cmd, out);
        }
        EncoderModelOptions.refuseForDl4j(cmd);
        for (String decoderOnly : new String[]{"ctx", "generations", "gen-tokens"}) {
            if (cmd.hasOption(decoderOnly)) {
                throw new UsageException("--" + decoderOnly + " is for decoders (--model FILE.gguf)");
            }
        }
        for (String encoderOnly : new String[]{"sentences", "peer", "threads", "out", "table", "methods", "bits",
            "claq-bits", "calib", "calib-samples", "bias-correction"}) {
            if (cmd.hasOption(encoderOnly)) {
                throw new UsageException("--" + encoderOnly + " is for sentence encoders (--model minilm or FILE.onnx), "
                        + "not for a DL4J model zip");
            }
        }
        if (cmd.hasOption("data")) {
            MnistData.require(cmd, "data");
        }
        Path modelFile = Path.of(cmd.getOptionValue("model"));
        QuantizedModel quantized = cmd.hasOption("quantized")
                ? ModelFileReader.read(Path.of(cmd.getOptionValue("quantized"))) : null;
        Dl4jModelFile input = Dl4jModelFile.read(modelFile);
        int digits = MnistData.digits().test().size();
        double fp32 = accuracy(input.model());
        out.printf(Locale.ROOT, "%s (%s) on %d MNIST test digits%n", modelFile, input.kind(), digits);
        out.printf(Locale.ROOT, "fp32 accuracy:      %.2f%%%n", 100 * fp32);
        if (quantized != null) {
            QuantizedWeights.Loaded loaded = QuantizedWeights.load(input.view(), quantized);
            double after = accuracy(input.model());
            out.printf(Locale.ROOT, "quantized accuracy: %.2f%% (%+.2f points; %d quantized and %d fp32 tensors from %s)%n",
                    100 * after, 100 * (after - fp32), loaded.quantized(), loaded.floats(), cmd.getOptionValue("quantized"));
        }
        return Main.OK;
    }

    private static double accuracy(Model model) {
        return Dl4jModelFile.accuracy(model, MnistData.digits().test().iterator(500));
    }
}
