package org.quant4j.model.bert;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.ToDoubleFunction;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.TargetGroup;
import org.quant4j.model.TextCalibration;

/**
 * Calibration text through a BERT encoder, one encoder layer at a time: the sequences as token batches (sorted by
 * length, each padded to its longest) and, per batch, the hidden states entering the current layer
 * ({@code [batch·seq, hidden]}); {@link #advance} moves them one layer on. The rows handed on are the tokens under the
 * attention mask.
 */
final class BertCalibrationPass implements CalibrationPass {
    private final QuantizableBert model;
    private final BertEncoder encoder;
    private final List<TokenBatch> batches;
    private final INDArray[] hidden;
    private final long tokens;

    BertCalibrationPass(QuantizableBert model, WordPieceTokenizer tokenizer, TextCalibration text) {
        this.model = model;
        this.encoder = model.encoder();
        if (text.maxTokens() > encoder.config().maxPositions()) {
            throw new ModelInputException("calibration sequences of up to " + text.maxTokens() + " tokens were asked for but "
                    + encoder.source() + " has " + encoder.config().maxPositions() + " positions; use maxTokens <= "
                    + encoder.config().maxPositions());
        }
        WordPieceTokenizer t = tokenizer.withTruncation(text.maxTokens()).withPadding(Padding.batchLongest());
        List<String> texts = text.texts();
        int[] lengths = new int[texts.size()];
        Integer[] order = new Integer[texts.size()];
        for (int i = 0; i < order.length; i++) {
            lengths[i] = t.encode(texts.get(i)).length;
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> lengths[a] != lengths[b] ? Integer.compare(lengths[a], lengths[b])
                : Integer.compare(a, b));
        List<TokenBatch> list = new ArrayList<>();
        for (int from = 0; from < order.length; from += TextCalibration.BATCH) {
            List<String> chunk = new ArrayList<>();
            for (int i = from; i < Math.min(order.length, from + TextCalibration.BATCH); i++) {
                chunk.add(texts.get(order[i]));
            }
            list.add(t.encodeBatch(chunk));
        }
        this.batches = List.copyOf(list);
        this.hidden = new INDArray[batches.size()];
        long n = 0;
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = encoder.embeddings(batches.get(i));
            for (int j = 0; j < batches.get(i).batchSize(); j++) {
                n += batches.get(i).length(j);
            }
        }
        this.tokens = n;
    }

    @Override
    public long rows() {
        return tokens;
    }

    @Override
    public void capture(int block, int group, BiConsumer<TargetGroup, INDArray> sink) {
        TargetGroup g = model.blocks().get(block).groups().get(group);
        LinearTarget last = model.linear(g.targets().get(g.targets().size() - 1));
        ActivationHook hook = hook(block, Map.of(model.linear(g.first()), g), sink);
        for (int i = 0; i < batches.size(); i++) {
            encoder.layerInputs(block, hidden[i], batches.get(i), hook, last.role());
        }
    }

    @Override
    public void advance(int block, BiConsumer<TargetGroup, INDArray> sink) {
        ActivationHook hook = null;
        if (sink != null) {
            Map<LinearTarget, TargetGroup> firsts = new java.util.LinkedHashMap<>();
            for (TargetGroup g : model.blocks().get(block).groups()) {
                firsts.put(model.linear(g.first()), g);
            }
            hook = hook(block, firsts, sink);
        }
        for (int i = 0; i < batches.size(); i++) {
            hidden[i] = encoder.layerForward(block, hidden[i], batches.get(i), hook);
        }
    }

    /**
     * AWQ's Q/K/V loss (AutoAWQ {@code _compute_best_scale} with {@code module2inspect=self_attn}): the mean over
     * calibration tokens of {@code ‖attn(Ŵ_q, Ŵ_k, Ŵ_v) − attn(W_q, W_k, W_v)‖²}, {@code attn} being
     * {@code attention.output.dense(selfAttention(x))} of the layer, on up to {@code maxSequences} sequences (whole
     * batches evenly spread over the length-sorted batches) of the layer's current inputs.
     */
    @Override
    public ToDoubleFunction<List<INDArray>> moduleLoss(int block, ScaleGroup group, int maxSequences) {
        if (!QuantizableBert.SELF_ATTENTION.equals(group.inspect())) {
            return CalibrationPass.super.moduleLoss(block, group, maxSequences);
        }
        List<INDArray> qkv = group.targets().stream().map(model::weight).toList();
        int n = batches.size();
        int wanted = Math.max(1, Math.min(n, (maxSequences + TextCalibration.BATCH - 1) / TextCalibration.BATCH));
        int[] picked = new int[wanted];
        INDArray[] inputs = new INDArray[wanted];
        INDArray[] reference = new INDArray[wanted];
        INDArray[] masks = new INDArray[wanted];
        double count = 0;
        for (int i = 0; i < wanted; i++) {
            int b = (int) ((long) i * n / wanted + n / (2L * wanted));
            picked[i] = b;
            inputs[i] = hidden[b];
            reference[i] = encoder.attentionOutput(block, inputs[i], batches.get(b), qkv.get(0), qkv.get(1), qkv.get(2));
            masks[i] = maskColumn(b);
            count += masks[i].sumNumber().doubleValue();
        }
        double tokenCount = count;
        return candidates -> {
            double sum = 0;
            for (int i = 0; i < picked.length; i++) {
                try (INDArray out = encoder.attentionOutput(block, inputs[i], batches.get(picked[i]), candidates.get(0),
                        candidates.get(1), candidates.get(2))) {
                    out.subi(reference[i]).muliColumnVector(masks[i]);
                    double norm = out.norm2Number().doubleValue();
                    sum += norm * norm;
                }
            }
            return sum / tokenCount;
        };
    }

    /** The attention mask of batch {@code i} as a column {@code [batch·seq, 1]} of 0 and 1. */
    private INDArray maskColumn(int i) {
        int[] mask = batches.get(i).attentionMask();
        float[] m = new float[mask.length];
        for (int j = 0; j < m.length; j++) {
            m[j] = mask[j];
        }
        return Nd4j.create(m, new long[] {m.length, 1}, 'c').castTo(DataType.FLOAT);
    }

    /** A hook handing the input rows of the groups' first targets to {@code sink}, closing them afterwards. */
    private static ActivationHook hook(int block, Map<LinearTarget, TargetGroup> groups,
                                       BiConsumer<TargetGroup, INDArray> sink) {
        return new ActivationHook() {
            @Override
            public boolean wants(LinearTarget target) {
                return groups.containsKey(target);
            }

            @Override
            public void accept(LinearTarget target, INDArray rows) {
                try (rows) {
                    sink.accept(groups.get(target), rows);
                }
            }
        };
    }
}
