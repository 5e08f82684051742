package org.quant4j.ptq.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.gguf.GgmlType;
import org.quant4j.core.io.gguf.GgufExport;
import org.quant4j.core.io.gguf.QuantMix;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.llm.GgufDecoders;
import org.quant4j.model.llm.LlamaConfig;
import org.quant4j.model.llm.LlamaDecoder;
import org.quant4j.model.llm.QuantizableLlama;
import org.quant4j.model.llm.SyntheticDecoders;
import org.quant4j.model.llm.TokenCalibration;
import org.quant4j.model.llm.tokenizer.LlamaTokenizer;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqResult;
import org.quant4j.ptq.rtn.Rtn;

/**
 * A decoder quantized by the runner and exported as a whole GGUF model file that llama.cpp runs
 * ({@link GgufDecoders#exportOptions}): the source file's metadata and tokenizer, weights under their GGUF names.
 * RTN int8 symmetric g32 with FP16 scales is exactly Q8_0 (the exported file computes what the quantized decoder
 * does); llama.cpp's greedy tokens on it equal our forward's for the first 16 (llama.cpp also rounds the activations
 * to Q8_0 blocks inside its Q8_0 matrix products, which random weights' near-ties eventually feel). GPTQ int4 g128,
 * which has no exact ggml type, written as F32 dequantized weights: llama.cpp's 32 greedy tokens equal ours. AWQ
 * input scales, which llama.cpp has no place for, are refused.
 */
class DecoderGgufExportTest {
    private static final String PROMPT = "w5 w17 w230 w9";
    private static final int TOKENS = 32;

    @TempDir
    Path dir;

    private Path source() throws IOException {
        Path src = dir.resolve("src.gguf");
        SyntheticDecoders.write(src, new LlamaConfig("llama", 1, 256, 2, 4, 2, 512, 1e-5f, 10_000f, 1f,
                LlamaConfig.RopeStyle.NORMAL, 256), false, false, 21);
        return src;
    }

    private static PtqResult<QuantizableModel> quantize(Path src, PtqPipeline.Builder b) throws IOException {
        LlamaDecoder d = GgufDecoders.load(src);
        return b.calibration(new TokenCalibration(PtqPipelineLlamaTest.sequences(16, 64, 4).stream()
                        .map(s -> java.util.Arrays.stream(s).map(t -> 3 + 256 + 12 + t).toArray()).toList(), "words"))
                .build().quantize(QuantizableLlama.of("src", d));
    }

    @Test
    void anExactQ8ExportComputesWhatTheQuantizedDecoderDoesAndLlamaCppAgrees() throws IOException {
        Path src = source();
        QuantSpec q8 = QuantSpec.builder().bits(8).groupSize(32).scaleEncoding(NumberEncoding.FP16).build();
        PtqResult<QuantizableModel> r = quantize(src, PtqPipeline.builder(new Rtn(), q8));
        Path out = dir.resolve("rtn-q8_0.gguf");
        List<GgufExport.Entry> entries = GgufExport.write(r.model(), out, GgufDecoders.exportOptions(src, (GgmlType) null));
        assertThat(entries.stream().filter(e -> e.conversion() != GgufExport.Conversion.FLOAT))
                .hasSize(14).allMatch(e -> e.conversion() == GgufExport.Conversion.EXACT && e.type() == GgmlType.Q8_0);
        LlamaDecoder exported = GgufDecoders.load(out);
        LlamaDecoder quantized = ((QuantizableLlama) r.network()).decoder();
        int[] prompt = LlamaTokenizer.read(out).encode(PROMPT, true, false);
        assertThat(Transforms.abs(exported.logits(prompt).sub(quantized.logits(prompt))).maxNumber().doubleValue())
                .isLessThan(1e-4);
        assertLlamaCppAgrees(out, exported, 16);
    }

    @Test
    void aGptqExportAsDequantizedF32RunsInLlamaCppAsInOurQuantizedDecoder() throws IOException {
        Path src = source();
        PtqResult<QuantizableModel> r = quantize(src, PtqPipeline.builder(new Gptq(),
                QuantSpec.builder().bits(4).groupSize(128).asymmetric().build()));
        Path out = dir.resolve("gptq-f32.gguf");
        GgufExport.write(r.model(), out, GgufDecoders.exportOptions(src, GgmlType.F32));
        assertLlamaCppAgrees(out, ((QuantizableLlama) r.network()).decoder(), TOKENS);
    }

    @Test
    void aQ4KExportLoadsAndRunsInLlamaCpp() throws IOException {
        Path src = source();
        PtqResult<QuantizableModel> r = quantize(src, PtqPipeline.builder(new Gptq(),
                QuantSpec.builder().bits(4).groupSize(128).asymmetric().build()));
        Path out = dir.resolve("gptq-q4_k.gguf");
        List<GgufExport.Entry> entries = GgufExport.write(r.model(), out, GgufDecoders.exportOptions(src, GgmlType.Q4_K));
        assertThat(entries.stream().filter(e -> e.conversion() == GgufExport.Conversion.REQUANTIZED))
                .hasSize(14).allMatch(e -> e.type() == GgmlType.Q4_K);
        assertLlamaCppAgrees(out, GgufDecoders.load(out), 4); // llama.cpp's Q4_K products round activations to Q8_K
    }

    @Test
    void aQ4KMMixTypesTensorsAsLlamaQuantizeAndLlamaCppRunsIt() throws IOException {
        Path src = dir.resolve("deep.gguf");
        SyntheticDecoders.write(src, new LlamaConfig("llama", 1, 256, 8, 4, 2, 512, 1e-5f, 10_000f, 1f,
                LlamaConfig.RopeStyle.NORMAL, 256), false, false, 5);
        PtqResult<QuantizableModel> r = quantize(src, PtqPipeline.builder(new Rtn(),
                QuantSpec.builder().bits(4).groupSize(128).asymmetric().build()));
        Path out = dir.resolve("q4_k_m.gguf");
        GgufExport.write(r.model(), out, GgufDecoders.exportOptions(src, QuantMix.Q4_K_M));
        org.quant4j.core.io.gguf.GgufFile written = org.quant4j.core.io.gguf.GgufReader.read(out);
        for (int l = 0; l < 8; l++) {
            GgmlType more = l == 0 || l == 3 || l == 6 || l == 7 ? GgmlType.Q6_K : GgmlType.Q4_K; // use_more_bits(l, 8)
            assertThat(written.tensor("blk." + l + ".attn_v.weight").type()).as("attn_v " + l).isEqualTo(more);
            assertThat(written.tensor("blk." + l + ".ffn_down.weight").type()).as("ffn_down " + l).isEqualTo(more);
            assertThat(written.tensor("blk." + l + ".attn_q.weight").type()).isEqualTo(GgmlType.Q4_K);
            assertThat(written.tensor("blk." + l + ".attn_norm.weight").type()).isEqualTo(GgmlType.F32);
        }
        assertThat(written.tensor("output.weight").type()).isEqualTo(GgmlType.Q6_K);
        assertThat(written.tensor("token_embd.weight").type()).isEqualTo(GgmlType.Q4_K);
        assertThat(written.metadata().get("general.file_type").asLong()).isEqualTo(15);
        assertLlamaCppAgrees(out, GgufDecoders.load(out), 2);
    }

    @Test
    void awqInputScalesAreRefusedAndNoFileIsWritten() throws IOException {
        Path src = source();
        PtqResult<QuantizableModel> r = quantize(src, PtqPipeline.builder(new Awq(),
                QuantSpec.builder().bits(4).groupSize(128).asymmetric().build()));
        QuantizedModel model = r.model();
        assertThat(model.floatTensors()).containsKey("blk.0.attn_output/input_scale"); // grouped-query attention
        Path out = dir.resolve("awq.gguf");
        assertThatThrownBy(() -> GgufExport.write(model, out, GgufDecoders.exportOptions(src, GgmlType.Q8_0)))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("blk.0.attn_output/input_scale");
        assertThat(out).doesNotExist();
    }

    /** llama.cpp's greedy continuation of the prompt on {@code file} begins with ours' first {@code agree} tokens. */
    private static void assertLlamaCppAgrees(Path file, LlamaDecoder ours, int agree) throws IOException {
        LlamaTokenizer tokenizer = LlamaTokenizer.read(file);
        int[] prompt = tokenizer.encode(PROMPT, true, false);
        String theirs;
        try (LlamaModel llama = new LlamaModel(new ModelParameters().setModel(file.toString()).setGpuLayers(0)
                .setThreads(2).setCtxSize(256).setCacheTypeK(CacheType.F32).setCacheTypeV(CacheType.F32))) {
            theirs = llama.complete(new InferenceParameters(PROMPT).setNPredict(TOKENS).setTemperature(0f)
                    .setRepeatPenalty(1f).setFrequencyPenalty(0f).setPresencePenalty(0f).setIgnoreEos(true).setSeed(1));
        }
        int[] generated = ours.greedy(prompt, TOKENS);
        int[] all = java.util.stream.IntStream.concat(java.util.Arrays.stream(prompt),
                java.util.Arrays.stream(generated, 0, agree)).toArray();
        String ourText = tokenizer.decode(all, false, false);
        System.out.printf("%s: llama.cpp %s%n", file.getFileName(), theirs);
        assertThat(PROMPT + theirs).startsWith(ourText);
    }
}
