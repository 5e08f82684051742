package org.quant4j.model.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.model.bert.ModelInputException;
import org.quant4j.model.bert.UnsupportedModelException;

/**
 * The decoder's forward against itself: the key/value cache gives the logits of a whole-sequence pass; the two rotary
 * pairings are the same model up to llama.cpp's converter permutation of Q and K; grouped-query attention is
 * multi-head attention with each key/value head repeated; bad input is named.
 */
class LlamaDecoderTest {
    static final LlamaConfig LLAMA = new LlamaConfig("llama", 1, 128, 2, 4, 2, 256, 1e-5f, 10_000f, 1f,
            LlamaConfig.RopeStyle.NORMAL, 128);
    static final LlamaConfig QWEN2 = new LlamaConfig("qwen2", 1, 128, 2, 4, 2, 256, 1e-6f, 1_000_000f, 1f,
            LlamaConfig.RopeStyle.NEOX, 128);
    private static final int[] TOKENS = {270, 300, 301, 310, 400, 555, 600, 271, 280, 290, 640, 650};

    @TempDir
    Path dir;

    private LlamaDecoder write(LlamaConfig shape, boolean bias, boolean tied) throws IOException {
        Path file = dir.resolve(shape.architecture() + (bias ? "-bias" : "") + (tied ? "-tied" : "") + ".gguf");
        SyntheticDecoders.write(file, shape, bias, tied, 7);
        return GgufDecoders.load(file);
    }

    @Test
    void theCacheGivesTheLogitsOfAWholeSequencePass() throws IOException {
        for (LlamaDecoder d : new LlamaDecoder[]{write(LLAMA, false, false), write(QWEN2, true, true)}) {
            INDArray whole = d.logits(TOKENS);
            LlamaDecoder.Session s = d.session();
            INDArray first = s.append(java.util.Arrays.copyOfRange(TOKENS, 0, 5));
            INDArray rest = Nd4j.create(DataType.FLOAT, TOKENS.length - 5, whole.columns());
            for (int i = 5; i < TOKENS.length; i++) {
                rest.putRow(i - 5, s.append(new int[]{TOKENS[i]}).getRow(0));
            }
            assertThat(s.position()).isEqualTo(TOKENS.length);
            assertThat(maxDiff(first, whole.get(NDArrayIndex.interval(0, 5), NDArrayIndex.all())))
                    .as(d.config().architecture()).isLessThan(1e-4);
            assertThat(maxDiff(rest, whole.get(NDArrayIndex.interval(5, TOKENS.length), NDArrayIndex.all())))
                    .as(d.config().architecture()).isLessThan(1e-4);
        }
    }

    @Test
    void neoxPairingIsNormalPairingWithTheConvertersPermutationOfQueriesAndKeys() throws IOException {
        LlamaDecoder neox = write(QWEN2, true, false);
        LlamaConfig c = neox.config();
        LlamaConfig normal = new LlamaConfig("llama", c.vocabSize(), c.hidden(), c.layers(), c.heads(), c.kvHeads(),
                c.ffn(), c.rmsEps(), c.ropeBase(), c.ropeScale(), LlamaConfig.RopeStyle.NORMAL, c.contextLength());
        java.util.Map<String, INDArray> params = new java.util.LinkedHashMap<>();
        for (String name : neox.parameterNames()) {
            INDArray p = neox.parameter(name).dup();
            if (name.matches("blk\\.\\d+\\.attn_[qk]\\.(weight|bias)")) {
                p = interleaveHalves(p, name.contains("attn_q") ? c.heads() : c.kvHeads(), c.headDim());
            }
            params.put(name, p);
        }
        LlamaDecoder permuted = LlamaDecoder.of(normal, "permuted", params);
        assertThat(maxDiff(permuted.logits(TOKENS), neox.logits(TOKENS))).isLessThan(1e-4);
        assertThat(maxDiff(LlamaDecoder.of(normal, "unpermuted", neoxParams(neox)).logits(TOKENS), neox.logits(TOKENS)))
                .as("the pairing matters").isGreaterThan(1e-2);
    }

    @Test
    void groupedQueryAttentionIsMultiHeadAttentionWithRepeatedKeyValueHeads() throws IOException {
        LlamaDecoder gqa = write(LLAMA, false, false);
        LlamaConfig c = gqa.config();
        LlamaConfig mha = new LlamaConfig(c.architecture(), c.vocabSize(), c.hidden(), c.layers(), c.heads(), c.heads(),
                c.ffn(), c.rmsEps(), c.ropeBase(), c.ropeScale(), c.rope(), c.contextLength());
        java.util.Map<String, INDArray> params = new java.util.LinkedHashMap<>();
        for (String name : gqa.parameterNames()) {
            INDArray p = gqa.parameter(name).dup();
            if (name.matches("blk\\.\\d+\\.attn_[kv]\\.weight")) {
                INDArray[] rows = new INDArray[c.heads()];
                for (int head = 0; head < c.heads(); head++) {
                    int g = head / c.groupSize();
                    rows[head] = p.get(NDArrayIndex.interval(g * c.headDim(), (g + 1) * c.headDim()), NDArrayIndex.all());
                }
                p = Nd4j.concat(0, rows);
            }
            params.put(name, p);
        }
        assertThat(maxDiff(LlamaDecoder.of(mha, "mha", params).logits(TOKENS), gqa.logits(TOKENS))).isLessThan(1e-4);
    }

    @Test
    void badInputIsNamed() throws IOException {
        LlamaDecoder d = write(LLAMA, false, false);
        assertThatThrownBy(() -> d.logits(new int[]{5, 100_000})).isInstanceOf(ModelInputException.class)
                .hasMessageContainingAll("token 1 is id 100000", "vocabulary of " + d.config().vocabSize());
        assertThatThrownBy(() -> d.logits(new int[0])).isInstanceOf(ModelInputException.class)
                .hasMessageContaining("no tokens");
        assertThatThrownBy(() -> d.logits(new int[200])).isInstanceOf(ModelInputException.class)
                .hasMessageContaining("200 tokens exceed the model's context of 128");
        java.util.Map<String, INDArray> params = neoxParams(d);
        params.remove("blk.1.ffn_down.weight");
        assertThatThrownBy(() -> LlamaDecoder.of(d.config(), "broken", params)).isInstanceOf(ModelInputException.class)
                .hasMessageContaining("'blk.1.ffn_down.weight'").hasMessageContaining("missing");
        Path gpt2 = dir.resolve("gpt2.gguf");
        new org.quant4j.core.io.gguf.GgufWriter().put("general.architecture",
                org.quant4j.core.io.gguf.GgufValue.string("gpt2")).write(gpt2);
        assertThatThrownBy(() -> GgufDecoders.load(gpt2)).isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("general.architecture is 'gpt2'");
    }

    private static java.util.Map<String, INDArray> neoxParams(LlamaDecoder d) {
        java.util.Map<String, INDArray> params = new java.util.LinkedHashMap<>();
        for (String name : d.parameterNames()) {
            params.put(name, d.parameter(name).dup());
        }
        return params;
    }

    /**
     * Per head, rows {@code [0, d/2, 1, d/2 + 1, …]}: what llama.cpp's converter does to Hugging Face's Q and K so
     * that the NORMAL pairing rotates what {@code rotate_half} rotated.
     */
    private static INDArray interleaveHalves(INDArray p, int heads, int d) {
        INDArray out = p.dup();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                put(out, h * d + 2 * i, p, h * d + i);
                put(out, h * d + 2 * i + 1, p, h * d + i + d / 2);
            }
        }
        return out;
    }

    private static void put(INDArray to, int row, INDArray from, int fromRow) {
        if (to.rank() == 1) {
            to.putScalar(row, from.getFloat(fromRow));
        } else {
            to.putRow(row, from.getRow(fromRow));
        }
    }

    static double maxDiff(INDArray a, INDArray b) {
        assertThat(a.shape()).containsExactly(b.shape());
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }
}
