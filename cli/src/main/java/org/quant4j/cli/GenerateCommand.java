package org.quant4j.cli;

import java.io.PrintStream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.quant4j.model.llm.LlamaDecoder;

/** {@code quant4j generate --model FILE.gguf [--quantized q.q4j] --prompt TEXT [--tokens N]}: greedy generation. */
final class GenerateCommand implements Command {
    @Override
    public String name() {
        return "generate";
    }

    @Override
    public String summary() {
        return "greedy text generation with a GGUF decoder (llama, qwen2), optionally with a quant4j model file's weights";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("model").hasArg().argName("FILE.gguf").required()
                .desc("the decoder (GGUF, architectures llama and qwen2; its tokenizer is in the file)").build());
        o.addOption(Option.builder().longOpt("quantized").hasArg().argName("FILE.q4j")
                .desc("quant4j model file whose weights replace the decoder's (as written by quant4j ptq)").build());
        o.addOption(Option.builder().longOpt("prompt").hasArg().argName("TEXT").required().desc("the prompt").build());
        o.addOption(Option.builder().longOpt("tokens").hasArg().argName("N")
                .desc("tokens to generate (default 64)").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, PrintStream out) throws Exception {
        if (!DecoderModelOptions.wanted(cmd)) {
            throw new UsageException("--model must be a GGUF decoder (FILE.gguf), got " + cmd.getOptionValue("model"));
        }
        int n = cmd.hasOption("tokens") ? SpecOptions.parseInt(cmd, "tokens") : 64;
        if (n < 1) {
            throw new UsageException("--tokens must be at least 1, got " + n);
        }
        DecoderModelOptions.Decoder d = DecoderModelOptions.load(cmd);
        LlamaDecoder model = DecoderModelOptions.withQuantized(cmd, d);
        int[] prompt = d.tokenizer().encode(cmd.getOptionValue("prompt"), true, false);
        if (prompt.length + n > model.config().contextLength()) {
            throw new UsageException("the prompt (" + prompt.length + " tokens) and --tokens " + n + " exceed the model's "
                    + "context of " + model.config().contextLength());
        }
        int[] generated = model.greedy(prompt, n);
        out.println(d.tokenizer().decode(generated, false, false));
        return Main.OK;
    }
}
