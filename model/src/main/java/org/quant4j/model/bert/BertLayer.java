package org.quant4j.model.bert;

import java.util.List;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One post-LayerNorm transformer encoder layer (Vaswani et al. 2017, §3.2–3.3; BERT, Devlin et al.
 * 2019, §3): multi-head self-attention {@code softmax(Q Kᵀ / c + maskBias) V} with its output dense
 * layer, residual and LayerNorm, then the feed-forward layer with exact GELU
 * ({@code x · ½ · (1 + erf(x/√2))}, Hendrycks &amp; Gimpel 2016), residual and LayerNorm. The hidden
 * state is {@code [batch · seq, hidden]}; every dense layer is one gemm over all tokens of the batch,
 * attention is a batched matmul over {@code [batch, heads, seq, headDim]}.
 */
final class BertLayer {
    final int index;
    final Linear query;
    final Linear key;
    final Linear value;
    final Linear attentionOutput;
    final LayerNorm attentionNorm;
    final Linear ffnIn;
    final Linear ffnOut;
    final LayerNorm outputNorm;

    BertLayer(int index, Linear query, Linear key, Linear value, Linear attentionOutput, LayerNorm attentionNorm,
              Linear ffnIn, Linear ffnOut, LayerNorm outputNorm) {
        this.index = index;
        this.query = query;
        this.key = key;
        this.value = value;
        this.attentionOutput = attentionOutput;
        this.attentionNorm = attentionNorm;
        this.ffnIn = ffnIn;
        this.ffnOut = ffnOut;
        this.outputNorm = outputNorm;
    }

    /** The six dense layers in execution order (query, key, value, attention output, FFN in, FFN out). */
    List<Linear> linears() {
        return List.of(query, key, value, attentionOutput, ffnIn, ffnOut);
    }

    /**
     * {@code x [batch·seq, hidden]} -> the layer's output written into {@code out} (same shape, may live
     * outside the current workspace); {@code x} is left unchanged.
     */
    INDArray forward(INDArray x, INDArray out, Pass pass) {
        return forward(x, out, pass, null);
    }

    /**
     * {@link #forward(INDArray, INDArray, Pass)} that stops (returning null) once the input of the dense
     * layer of role {@code last} has been handed to the pass's hook; {@code last == null} runs the whole layer.
     */
    INDArray forward(INDArray x, INDArray out, Pass pass, LinearRole last) {
        pass.observe(query, x);
        pass.observe(key, x);
        pass.observe(value, x);
        if (last == LinearRole.QUERY || last == LinearRole.KEY || last == LinearRole.VALUE) {
            return null;
        }
        INDArray context = attend(query.apply(x), key.apply(x), value.apply(x), pass);
        pass.observe(attentionOutput, context);
        if (last == LinearRole.ATTENTION_OUTPUT) {
            return null;
        }
        INDArray projected = attentionOutput.apply(context);
        INDArray attended = attentionNorm.apply(projected, x, projected);
        pass.observe(ffnIn, attended);
        if (last == LinearRole.FFN_IN) {
            return null;
        }
        INDArray hidden = gelu(ffnIn.apply(attended), pass.config.geluDivisor());
        pass.observe(ffnOut, hidden);
        if (last == LinearRole.FFN_OUT) {
            return null;
        }
        return outputNorm.apply(ffnOut.apply(hidden), attended, out);
    }

    /**
     * {@code attention.output.dense(selfAttention(x))} (before the residual and LayerNorm) with the given
     * query, key and value weights ({@code [hidden, hidden]}, PyTorch layout) in place of the layer's own,
     * the layer's biases kept: the block AWQ judges the Q/K/V scales on.
     */
    INDArray attentionProjection(INDArray x, Pass pass, INDArray wq, INDArray wk, INDArray wv) {
        INDArray context = attend(query.apply(x, wq), key.apply(x, wk), value.apply(x, wv), pass);
        return attentionOutput.apply(context);
    }

    private static INDArray attend(INDArray q, INDArray k, INDArray v, Pass pass) {
        BertConfig c = pass.config;
        INDArray qh = splitHeads(q, pass, c, false);
        INDArray kt = splitHeads(k, pass, c, true);
        INDArray vh = splitHeads(v, pass, c, false);
        INDArray scores = Nd4j.matmul(qh, kt);
        scores.divi(c.attentionDivisor()).addi(pass.maskBias);
        INDArray probabilities = scores.ulike();
        Nd4j.exec((CustomOp) new SoftMax(scores, probabilities, 3));
        INDArray context = Nd4j.matmul(probabilities, vh);
        return context.permute(0, 2, 1, 3).dup('c').reshape('c', (long) pass.batch * pass.seq, c.hiddenSize());
    }

    /**
     * {@code [batch·seq, hidden] -> [batch, heads, seq, headDim]}, or {@code [batch, heads, headDim, seq]}
     * when {@code transposed} (the key, so the scores are a plain batched matmul), contiguous.
     */
    private static INDArray splitHeads(INDArray x, Pass pass, BertConfig c, boolean transposed) {
        INDArray split = x.reshape('c', pass.batch, pass.seq, c.heads(), c.headDim());
        return (transposed ? split.permute(0, 2, 3, 1) : split.permute(0, 2, 1, 3)).dup('c');
    }

    /** Exact GELU in place, {@code x · ½ · (1 + erf(x / divisor))}, in the graph's operation order. */
    private static INDArray gelu(INDArray x, float divisor) {
        INDArray erf = x.div(divisor);
        Nd4j.exec(new Erf(erf, erf));
        return x.muli(erf.addi(1f)).muli(0.5f);
    }

    /** Per-forward state shared by the layers: batch shape, mask bias, masked rows, the hook. */
    static final class Pass {
        final BertConfig config;
        final int batch;
        final int seq;
        /** {@code [batch, 1, 1, seq]}: 0 for tokens, the graph's mask value for padding. */
        final INDArray maskBias;
        private final int[] maskedRows;
        private final ActivationHook hook;

        Pass(BertConfig config, TokenBatch tokens, ActivationHook hook) {
            this.config = config;
            this.batch = tokens.batchSize();
            this.seq = tokens.sequenceLength();
            int[] mask = tokens.attentionMask();
            float[] bias = new float[mask.length];
            for (int i = 0; i < mask.length; i++) {
                bias[i] = (1 - mask[i]) * config.maskValue();
            }
            this.maskBias = Nd4j.create(bias, new long[]{batch, 1, 1, seq}, 'c');
            this.maskedRows = tokens.maskedPositions();
            this.hook = hook;
        }

        void observe(Linear linear, INDArray input) {
            if (hook != null && hook.wants(linear.target)) {
                try (MemoryWorkspace outside = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                    hook.accept(linear.target, maskedRows.length == input.rows()
                            ? input.dup('c') : Nd4j.pullRows(input, 1, maskedRows));
                }
            }
        }
    }
}
