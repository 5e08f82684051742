package org.quant4j.model.llm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantizationException;
import org.quant4j.model.AwqFolding;
import org.quant4j.model.CalibrationInput;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.ModelBlock;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.ScaledTarget;
import org.quant4j.model.TargetGroup;
import org.quant4j.model.TextCalibration;
import org.quant4j.model.llm.tokenizer.LlamaTokenizer;

/**
 * A Llama-family decoder as a {@link QuantizableModel}, declared as GPTQModel's {@code LlamaGPTQ} and AutoAWQ's
 * {@code LlamaAWQForCausalLM} declare it: a block per decoder layer with the groups [q, k, v], [o], [gate, up], [down]
 * (quantized in that order, true-sequential); AWQ's scale groups ({@code get_layers_for_scaling}): RMSNorm → q, k, v
 * and RMSNorm → gate, up ({@code 1/s} folded into the norm weight: {@code scale_ln_fcs}), v → o when V and O have the
 * same width (no grouped-query attention; {@code scale_fc_fc}), up → down ({@code 1/s} folded into up's rows); where
 * no fold is exact (o under GQA) {@code s} is stored as {@code <target>/input_scale}. Calibration data is
 * {@link TokenCalibration}, or {@link TextCalibration} with the model's tokenizer. Targets are named {@code blk.N.attn_q} etc. (the GGUF tensor without {@code .weight}).
 * Quantization changes the wrapped decoder in place.
 */
public final class QuantizableLlama implements QuantizableModel {
    private static final String[][] GROUPS = {{"attn_q", "attn_k", "attn_v"}, {"attn_output"}, {"ffn_gate", "ffn_up"},
        {"ffn_down"}};

    private final String name;
    private final LlamaDecoder decoder;
    private final LlamaTokenizer tokenizer;
    private final List<ModelBlock> blocks;

    private QuantizableLlama(String name, LlamaDecoder decoder, LlamaTokenizer tokenizer) {
        this.name = name;
        this.decoder = decoder;
        this.tokenizer = tokenizer;
        List<ModelBlock> list = new ArrayList<>();
        for (int l = 0; l < decoder.config().layers(); l++) {
            List<TargetGroup> groups = new ArrayList<>();
            for (String[] g : GROUPS) {
                List<QuantTarget> ts = new ArrayList<>();
                for (String t : g) {
                    INDArray w = decoder.parameter("blk." + l + "." + t + ".weight");
                    ts.add(new QuantTarget("blk." + l + "." + t, "Linear " + t, w.shape(), (int) w.columns(), true));
                }
                groups.add(new TargetGroup(ts.size() == 1 ? ts.get(0).name() : "blk." + l + "." + String.join("+", g), ts));
            }
            list.add(new ModelBlock("blk." + l, groups));
        }
        this.blocks = List.copyOf(list);
    }

    /** The decoder, quantized in place; calibrates on {@link TokenCalibration}. */
    public static QuantizableLlama of(String name, LlamaDecoder decoder) {
        return new QuantizableLlama(name, decoder, null);
    }

    /**
     * The decoder with its tokenizer, quantized in place; calibrates on {@link TokenCalibration} or on
     * {@link TextCalibration} (each text tokenized with the start token the vocabulary asks for, cut to
     * {@code maxTokens}).
     */
    public static QuantizableLlama of(String name, LlamaDecoder decoder, LlamaTokenizer tokenizer) {
        return new QuantizableLlama(name, decoder, tokenizer);
    }

    public LlamaDecoder decoder() {
        return decoder;
    }

    @Override public String name() { return name; }
    @Override public List<ModelBlock> blocks() { return blocks; }
    @Override public INDArray weight(QuantTarget t) { return decoder.parameter(t.name() + ".weight").dup(); }
    @Override public void setWeight(QuantTarget t, INDArray outIn) { decoder.setParameter(t.name() + ".weight", outIn); }
    @Override
    public String calibrationKind() {
        return tokenizer == null ? "TokenCalibration (token id sequences)"
                : "TextCalibration (texts) or TokenCalibration (token id sequences)";
    }

    @Override
    public INDArray bias(QuantTarget t) {
        return decoder.hasParameter(t.name() + ".bias") ? decoder.parameter(t.name() + ".bias").dup() : null;
    }

    @Override
    public void setBias(QuantTarget t, INDArray bias) {
        if (!decoder.hasParameter(t.name() + ".bias")) {
            throw new QuantizationException(decoder.source() + ": target '" + t.name() + "' has no bias");
        }
        decoder.setParameter(t.name() + ".bias", bias);
    }

    @Override
    public Map<String, INDArray> otherParameters() {
        java.util.Set<String> weights = new java.util.HashSet<>();
        targets().forEach(t -> weights.add(t.name() + ".weight"));
        return QuantizableModel.parametersExcept(decoder.parameterNames(), weights, decoder::parameter);
    }

    @Override
    public void setOtherParameter(String name, INDArray value) {
        decoder.setParameter(name, value);
    }

    @Override
    public CalibrationPass open(CalibrationInput data) {
        if (data instanceof TextCalibration text && tokenizer != null) {
            return new Pass(tokenize(text));
        }
        if (!(data instanceof TokenCalibration tokens)) {
            throw QuantizableModel.wrongCalibration(this, data);
        }
        return new Pass(tokens);
    }

    /** Keeps each sequence's hidden state at the current block's input. */
    private final class Pass implements CalibrationPass {
        private static final LlamaDecoder.Stage[] STAGES = LlamaDecoder.Stage.values();
        private final List<INDArray> hidden = new ArrayList<>();
        private final long rows;
        private int current;

        Pass(TokenCalibration data) {
            INDArray table = decoder.parameter("token_embd.weight");
            for (int[] s : data.sequences()) {
                for (int id : s) {
                    if (id < 0 || id >= decoder.config().vocabSize()) {
                        throw new QuantizationException(name + ": calibration token id " + id + " is outside the "
                                + "vocabulary of " + decoder.config().vocabSize());
                    }
                }
                hidden.add(table.getRows(s));
            }
            rows = data.tokens();
        }

        @Override
        public void capture(int block, int group, BiConsumer<TargetGroup, INDArray> sink) {
            require(block);
            TargetGroup g = blocks.get(block).groups().get(group);
            for (INDArray x : hidden) {
                decoder.runBlock(block, x, 0, null, null, STAGES[group], (stage, r) -> {
                    if (stage == STAGES[group]) {
                        sink.accept(g, r);
                    }
                });
            }
        }

        @Override
        public void advance(int block, BiConsumer<TargetGroup, INDArray> sink) {
            require(block);
            List<TargetGroup> groups = blocks.get(block).groups();
            for (int i = 0; i < hidden.size(); i++) {
                hidden.set(i, decoder.runBlock(block, hidden.get(i), 0, null, null, null,
                        sink == null ? null : (stage, r) -> sink.accept(groups.get(stage.ordinal()), r)));
            }
            current = block + 1;
        }

        @Override
        public long rows() {
            return rows;
        }

        private void require(int block) {
            if (block != current) {
                throw new IllegalStateException("the pass holds the inputs of block " + current + ", not of block "
                        + block + ": capture and advance blocks in order");
            }
        }
    }

    private TokenCalibration tokenize(TextCalibration text) {
        List<int[]> sequences = new ArrayList<>();
        for (String t : text.texts()) {
            int[] ids = tokenizer.encode(t, true, false);
            if (ids.length > 0) {
                sequences.add(ids.length > text.maxTokens() ? java.util.Arrays.copyOf(ids, text.maxTokens()) : ids);
            }
        }
        return new TokenCalibration(sequences, text.source() + ", tokenized by " + tokenizer.name());
    }

    @Override
    public List<ScaleGroup> scaleGroups(int block) {
        List<TargetGroup> g = blocks.get(block).groups();
        return List.of(new ScaleGroup(g.get(0).name(), g.get(0).targets(), "1/s folded into attn_norm", null, 1),
                new ScaleGroup(g.get(1).name(), g.get(1).targets(), gqa() ? "input_scale stored (grouped-query V)"
                        : "1/s folded into the value rows", null, 1),
                new ScaleGroup(g.get(2).name(), g.get(2).targets(), "1/s folded into ffn_norm", null, 1),
                new ScaleGroup(g.get(3).name(), g.get(3).targets(), "1/s folded into the up rows", null, 1));
    }

    private boolean gqa() {
        return decoder.config().kvHeads() != decoder.config().heads();
    }

    /**
     * Applies the scales of block {@code block} so that the float decoder computes the same function (up to rounding):
     * each group's columns are multiplied by its {@code s} and {@code 1/s} goes into the op before it.
     */
    @Override
    public Map<String, ScaledTarget> applyScales(int block, Map<String, float[]> scales) {
        List<ScaleGroup> groups = scaleGroups(block);
        float[][] s = new float[4][];
        for (int i = 0; i < 4; i++) {
            s[i] = scales.get(groups.get(i).name());
            if (s[i] == null) {
                throw new QuantizationException("no AWQ scales for " + groups.get(i).name());
            }
        }
        String b = "blk." + block + ".";
        divideNorm(b + "attn_norm.weight", s[0]);
        divideNorm(b + "ffn_norm.weight", s[2]);
        Map<String, ScaledTarget> out = new LinkedHashMap<>();
        for (int gi = 0; gi < 4; gi++) {
            for (QuantTarget t : groups.get(gi).targets()) {
                INDArray original = weight(t);
                INDArray stored = AwqFolding.scaleColumns(original, s[gi]);
                float[] rowScales = null;
                String note = groups.get(gi).foldInto();
                if (t.name().endsWith("attn_v") && !gqa() || t.name().endsWith("ffn_up")) {
                    rowScales = t.name().endsWith("attn_v") ? s[1] : s[3];
                    AwqFolding.LinearParams folded = AwqFolding.foldIntoPreviousLinear(stored, bias(t), rowScales);
                    stored = folded.weight();
                    if (folded.bias() != null) {
                        setBias(t, folded.bias());
                    }
                    note += "; rows divided by the next group's s";
                }
                boolean storeInput = gi == 1 && gqa();
                setWeight(t, storeInput ? AwqFolding.unscaleColumns(stored, s[gi]) : stored);
                out.put(t.name(), new ScaledTarget(original, stored, s[gi], storeInput, rowScales, s[gi], note));
            }
        }
        return out;
    }

    private void divideNorm(String name, float[] s) {
        INDArray w = decoder.parameter(name).dup();
        for (int i = 0; i < s.length; i++) {
            w.putScalar(i, w.getFloat(i) / s[i]);
        }
        decoder.setParameter(name, w);
    }
}
