package org.quant4j.ptq.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.ModelWeights;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.llm.LlamaConfig;
import org.quant4j.model.llm.LlamaDecoder;
import org.quant4j.model.llm.QuantizableLlama;
import org.quant4j.model.llm.TokenCalibration;
import org.quant4j.ptq.Solvers;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqResult;

/**
 * The one PTQ runner on a Llama-family decoder ({@link QuantizableLlama}): no new pipeline, only the model's
 * declaration. A seeded random decoder at real shapes (hidden 256, 4 heads, FFN 512, 2 blocks; with grouped-query
 * attention and without), random token sequences for calibration and evaluation; the fidelity measure is the mean KL
 * divergence of the quantized model's next-token distributions from fp32's on held-out sequences. Checks: AWQ's scale
 * application leaves the float decoder's function unchanged; every solver runs and its model file reloads
 * ({@link ModelWeights}) into a fresh decoder that computes what the quantized one does; at 4-bit g128 GPTQ is closer
 * to fp32 than round-to-nearest.
 */
class PtqPipelineLlamaTest {
    private static final QuantSpec INT4_G128 = QuantSpec.builder().bits(4).groupSize(128).asymmetric().build();
    private static final int VOCAB = 300;

    static LlamaDecoder decoder(int kvHeads, long seed) {
        LlamaConfig c = new LlamaConfig("llama", VOCAB, 256, 2, 4, kvHeads, 512, 1e-5f, 10_000f, 1f,
                LlamaConfig.RopeStyle.NORMAL, 128);
        Random r = new Random(seed);
        Map<String, INDArray> p = new LinkedHashMap<>();
        int h = c.hidden();
        int kv = c.kvHeads() * c.headDim();
        p.put("token_embd.weight", gaussian(r, 1.0, VOCAB, h));
        p.put("output_norm.weight", ones(h));
        p.put("output.weight", gaussian(r, 3.0 / Math.sqrt(h), VOCAB, h));
        for (int l = 0; l < c.layers(); l++) {
            String b = "blk." + l + ".";
            p.put(b + "attn_norm.weight", ones(h));
            p.put(b + "attn_q.weight", gaussian(r, 1 / Math.sqrt(h), h, h));
            p.put(b + "attn_k.weight", gaussian(r, 1 / Math.sqrt(h), kv, h));
            p.put(b + "attn_v.weight", gaussian(r, 1 / Math.sqrt(h), kv, h));
            p.put(b + "attn_output.weight", gaussian(r, 0.5 / Math.sqrt(h), h, h));
            p.put(b + "ffn_norm.weight", ones(h));
            p.put(b + "ffn_gate.weight", gaussian(r, 1 / Math.sqrt(h), c.ffn(), h));
            p.put(b + "ffn_up.weight", gaussian(r, 1 / Math.sqrt(h), c.ffn(), h));
            p.put(b + "ffn_down.weight", gaussian(r, 0.5 / Math.sqrt(c.ffn()), h, c.ffn()));
        }
        return LlamaDecoder.of(c, "random decoder (seed " + seed + ")", p);
    }

    static List<int[]> sequences(int count, int length, long seed) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(r.ints(length, 0, VOCAB).toArray());
        }
        return out;
    }

    /** Mean KL(fp32 ‖ quantized) over every position of the sequences. */
    static double meanKl(List<INDArray> fp32Logits, LlamaDecoder quantized, List<int[]> sequences) {
        double sum = 0;
        long n = 0;
        for (int i = 0; i < sequences.size(); i++) {
            INDArray p = Transforms.softmax(fp32Logits.get(i), true);
            INDArray logP = Transforms.log(p, true);
            INDArray logQ = Transforms.log(Transforms.softmax(quantized.logits(sequences.get(i)), false), false);
            sum += p.mul(logP.sub(logQ)).sumNumber().doubleValue();
            n += sequences.get(i).length;
        }
        return sum / n;
    }

    @Test
    void awqScalesLeaveTheFloatDecoderUnchangedWithAndWithoutGroupedQueryAttention() {
        for (int kv : new int[]{2, 4}) {
            LlamaDecoder d = decoder(kv, 3);
            int[] tokens = sequences(1, 24, 9).get(0);
            INDArray before = d.logits(tokens);
            QuantizableLlama model = QuantizableLlama.of("random", d);
            Random r = new Random(kv);
            for (int b = 0; b < d.config().layers(); b++) {
                Map<String, float[]> scales = new HashMap<>();
                for (ScaleGroup g : model.scaleGroups(b)) {
                    float[] s = new float[(int) g.targets().get(0).shape()[1]];
                    for (int i = 0; i < s.length; i++) {
                        s[i] = (float) Math.exp(r.nextGaussian() * 0.5);
                    }
                    scales.put(g.name(), s);
                }
                model.applyScales(b, scales);
            }
            double diff = Transforms.abs(d.logits(tokens).sub(before)).maxNumber().doubleValue();
            System.out.printf("AWQ scales applied, %d key/value heads: max |logit difference| %.2e%n", kv, diff);
            assertThat(diff).isLessThan(1e-3);
        }
    }

    @Test
    void everySolverRunsReloadsFromItsFileAndGptqIsCloserToFp32ThanRoundToNearest(@TempDir Path dir) throws IOException {
        List<int[]> calibration = sequences(24, 64, 1); // 1,536 rows: three times the widest input (512)
        List<int[]> heldOut = sequences(4, 48, 2);
        List<INDArray> fp32 = new ArrayList<>();
        LlamaDecoder reference = decoder(2, 5);
        heldOut.forEach(s -> fp32.add(reference.logits(s)));
        Map<String, Double> kl = new LinkedHashMap<>();
        for (String method : Solvers.NAMES) {
            LlamaDecoder d = decoder(2, 5);
            PtqPipeline.Builder b = method.equals("claq") ? PtqPipeline.builder(new Claq(ClaqParams.adaptive(4)))
                    : PtqPipeline.builder(Solvers.create(method), INT4_G128);
            PtqResult<?> result = b.calibration(new TokenCalibration(calibration, "random tokens")).seed(0).build()
                    .quantize(QuantizableLlama.of("random", d));
            assertThat(result.report().layers()).hasSize(14);
            kl.put(method, meanKl(fp32, d, heldOut));
            Path file = dir.resolve(method + ".q4j");
            result.writeModel(file);
            LlamaDecoder fresh = decoder(2, 5);
            ModelWeights.apply(ModelFileReader.read(file), QuantizableLlama.of("random", fresh));
            assertThat(Transforms.abs(fresh.logits(heldOut.get(0)).sub(d.logits(heldOut.get(0)))).maxNumber().doubleValue())
                    .as(method + ": the file reloads to the decoder the runner left").isLessThan(1e-3);
            System.out.printf("%-5s int4 g128 (claq: 4 bits): %.3f bits/weight, mean KL to fp32 %.5f%n", method,
                    result.report().bitsPerWeight(), kl.get(method));
        }
        kl.values().forEach(v -> assertThat(v).isFinite().isPositive());
        assertThat(kl.get("gptq")).as("GPTQ below RTN").isLessThan(kl.get("rtn"));
    }

    private static INDArray gaussian(Random r, double std, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * std);
        }
        return Nd4j.create(v, new long[]{rows, cols}, 'c');
    }

    private static INDArray ones(int n) {
        return Nd4j.ones(DataType.FLOAT, n);
    }
}
