package org.quant4j.ptq.bert;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.LayerStats;
import org.quant4j.model.bert.ActivationHook;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.LinearRole;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.Padding;
import org.quant4j.model.bert.TokenBatch;
import org.quant4j.model.bert.WordPieceTokenizer;

/**
 * The calibration passages as token batches (sorted by length, each padded to its longest) and, per batch,
 * the hidden states entering the layer being quantized ({@code [batch·seq, hidden]}). The states move one
 * layer forward at a time ({@link #advance}), so the encoder is never rerun from the start.
 */
final class CalibrationSet {
    private final List<TokenBatch> batches;
    private final INDArray[] hidden;
    private final long tokens;

    private CalibrationSet(List<TokenBatch> batches, INDArray[] hidden) {
        this.batches = batches;
        this.hidden = hidden;
        long n = 0;
        for (TokenBatch b : batches) {
            for (int i = 0; i < b.batchSize(); i++) {
                n += b.length(i);
            }
        }
        this.tokens = n;
    }

    /** Tokenizes (truncating to {@code maxTokens}) and runs the embeddings. */
    static CalibrationSet of(MiniLm model, List<String> passages, int maxTokens, int batchSize) {
        WordPieceTokenizer tokenizer = model.tokenizer().withTruncation(maxTokens).withPadding(Padding.batchLongest());
        int[] lengths = new int[passages.size()];
        Integer[] order = new Integer[passages.size()];
        for (int i = 0; i < order.length; i++) {
            lengths[i] = tokenizer.encode(passages.get(i)).length;
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> lengths[a] != lengths[b] ? Integer.compare(lengths[a], lengths[b])
                : Integer.compare(a, b));
        List<TokenBatch> batches = new ArrayList<>();
        for (int from = 0; from < order.length; from += batchSize) {
            List<String> chunk = new ArrayList<>();
            for (int i = from; i < Math.min(order.length, from + batchSize); i++) {
                chunk.add(passages.get(order[i]));
            }
            batches.add(tokenizer.encodeBatch(chunk));
        }
        INDArray[] hidden = new INDArray[batches.size()];
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = model.encoder().embeddings(batches.get(i));
        }
        return new CalibrationSet(List.copyOf(batches), hidden);
    }

    int batchCount() {
        return batches.size();
    }

    TokenBatch batch(int i) {
        return batches.get(i);
    }

    /** The hidden states entering the current layer for batch {@code i}. */
    INDArray hidden(int i) {
        return hidden[i];
    }

    /** Tokens under the mask over all passages. */
    long tokens() {
        return tokens;
    }

    /**
     * Runs layer {@code layer} only as far as {@code target}'s input, with the encoder's current weights,
     * and accumulates that input into {@code stats}.
     */
    void capture(BertEncoder encoder, int layer, LinearTarget target, LayerStats stats) {
        capture(encoder, layer, target.role(), hook(Map.of(target, stats)));
    }

    /** Runs layer {@code layer} as far as the input of its target of role {@code last}, handing inputs to {@code hook}. */
    void capture(BertEncoder encoder, int layer, LinearRole last, ActivationHook hook) {
        for (int i = 0; i < batches.size(); i++) {
            encoder.layerInputs(layer, hidden[i], batches.get(i), hook, last);
        }
    }

    /**
     * Runs layer {@code layer} on every batch, accumulating the inputs of the targets in {@code stats} (may
     * be empty), and moves the hidden states to the layer's output.
     */
    void advance(BertEncoder encoder, int layer, Map<LinearTarget, LayerStats> stats) {
        advance(encoder, layer, stats.isEmpty() ? null : hook(stats));
    }

    /** {@link #advance(BertEncoder, int, Map)} handing the layer's target inputs to {@code hook} (may be null). */
    void advance(BertEncoder encoder, int layer, ActivationHook hook) {
        for (int i = 0; i < batches.size(); i++) {
            INDArray next = encoder.layerForward(layer, hidden[i], batches.get(i), hook);
            hidden[i] = next;
        }
    }

    /** The attention mask of batch {@code i} as a column {@code [batch·seq, 1]} of 0 and 1. */
    INDArray maskColumn(int i) {
        int[] mask = batches.get(i).attentionMask();
        float[] m = new float[mask.length];
        for (int j = 0; j < m.length; j++) {
            m[j] = mask[j];
        }
        return Nd4j.create(m, new long[] {m.length, 1}, 'c').castTo(DataType.FLOAT);
    }

    private static ActivationHook hook(Map<LinearTarget, LayerStats> stats) {
        return hook(stats.keySet(), (target, rows) -> stats.get(target).accumulate(target.name(), rows));
    }

    /** A hook handing the input rows of the {@code wanted} targets to {@code sink}, closing them afterwards. */
    static ActivationHook hook(Set<LinearTarget> wanted, BiConsumer<LinearTarget, INDArray> sink) {
        return new ActivationHook() {
            @Override
            public boolean wants(LinearTarget target) {
                return wanted.contains(target);
            }

            @Override
            public void accept(LinearTarget target, INDArray rows) {
                try (rows) {
                    sink.accept(target, rows);
                }
            }
        };
    }
}
