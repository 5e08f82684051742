package org.quant4j.calibration;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantizationException;
import org.quant4j.model.AwqFolding;
import org.quant4j.model.CalibrationInput;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.ModelBlock;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.ScaledTarget;
import org.quant4j.model.TargetGroup;
import org.quant4j.model.WeightTarget;

/**
 * A DL4J {@link MultiLayerNetwork} or {@link ComputationGraph} as a {@link QuantizableModel}; its groups are its
 * weights ({@link Dl4jNetwork#targets()}) one by one in execution order. A MultiLayerNetwork has a block per weighted
 * layer, except that a layer whose AWQ scales fold into the previous Dense joins that layer's block (AutoAWQ folds
 * only within a block, into weights not yet quantized); its pass ({@link MultiLayerPass}) keeps each batch's input of
 * the current block and runs one block at a time. A ComputationGraph is one block (its vertices form a graph, not a chain): its pass captures each target's
 * inputs by running the graph from its input with its current weights ({@link CalibrationRunner}). Either way
 * "true sequential" calibration sees every earlier target quantized.
 * AWQ: one scale group per target, {@code 1/s} folded into the previous Dense where {@link AwqFolds} finds that exact.
 * Calibration data is {@link CalibrationData}.
 *
 * <p>{@link #of} wraps the network itself (quantization changes it); {@link #copyOf} wraps a clone.
 */
public final class Dl4jModel implements QuantizableModel {
    private final Model network;
    private final String name;
    private final Dl4jNetwork view;
    private final AwqFolds folds;
    private final CalibrationRunner runner;
    private final String runnerError;
    private final Map<String, WeightTarget> targets = new LinkedHashMap<>();
    private final List<ModelBlock> blocks;
    /** A MultiLayerNetwork's blocks are its weighted layers: per block, its first layer's index. */
    private final int[] firstLayer;

    private Dl4jModel(Model network, String name, Dl4jNetwork view, AwqFolds folds) {
        this.network = network;
        this.name = name;
        this.view = view;
        this.folds = folds;
        CalibrationRunner r = null;
        String error = null;
        try {
            r = network instanceof MultiLayerNetwork m ? CalibrationRunner.of(m) : CalibrationRunner.of((ComputationGraph) network);
        } catch (QuantizationException e) {
            error = e.getMessage();
        }
        this.runner = r;
        this.runnerError = error;
        boolean layerBlocks = network instanceof MultiLayerNetwork;
        List<ModelBlock> b = new ArrayList<>();
        List<Integer> first = new ArrayList<>();
        List<TargetGroup> groups = new ArrayList<>();
        String blockName = "network";
        int previousLayer = -1;
        String lastLayerName = null;
        for (WeightTarget t : view.targets()) {
            targets.put(t.name(), t);
            if (layerBlocks && !first.isEmpty() && previousLayer != t.layerIndex() && folds.into(t.name()) == null) {
                b.add(new ModelBlock(blockName(blockName, lastLayerName), groups));
                groups = new ArrayList<>();
            }
            if (groups.isEmpty()) {
                first.add(t.layerIndex());
                blockName = layerBlocks ? t.layerName() : "network";
            }
            previousLayer = t.layerIndex();
            lastLayerName = t.layerName();
            INDArray w = view.weight(t);
            long[] shape = w.shape();
            boolean capturable = runner != null && runner.supports(t);
            int width = capturable ? runner.inputWidth(t) : (int) (w.length() / shape[0]);
            groups.add(new TargetGroup(t.name(), List.of(new QuantTarget(t.name(), t.layerType(), shape, width, capturable))));
        }
        if (!groups.isEmpty()) {
            b.add(new ModelBlock(layerBlocks ? blockName(blockName, lastLayerName) : blockName, groups));
        }
        this.blocks = List.copyOf(b);
        this.firstLayer = first.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A block's name: its layer's, or {@code first..last} for a run of layers. */
    private static String blockName(String first, String last) {
        return first.equals(last) ? first : first + ".." + last;
    }

    /** The network itself; quantization changes it. */
    public static Dl4jModel of(MultiLayerNetwork net, String name) {
        return new Dl4jModel(net, name, Dl4jNetwork.of(net), AwqFolds.of(net));
    }

    /** The graph itself; quantization changes it (calibration needs a single-input graph). */
    public static Dl4jModel of(ComputationGraph graph, String name) {
        return new Dl4jModel(graph, name, Dl4jNetwork.of(graph), AwqFolds.of(graph));
    }

    /** A clone of {@code net}; {@code net} is not changed. */
    public static Dl4jModel copyOf(MultiLayerNetwork net, String name) {
        return of(net.clone(), name);
    }

    /** A clone of {@code graph}; {@code graph} is not changed. */
    public static Dl4jModel copyOf(ComputationGraph graph, String name) {
        return of(graph.clone(), name);
    }

    /** The wrapped network (after quantization: every target holds its dequantized weight). */
    @SuppressWarnings("unchecked")
    public <N extends Model> N network() {
        return (N) network;
    }

    private WeightTarget target(QuantTarget t) {
        WeightTarget w = targets.get(t.name());
        if (w == null) {
            throw new QuantizationException("no quantizable weight named '" + t.name() + "'; the network has "
                    + targets.keySet());
        }
        return w;
    }

    @Override public String name() { return name; }
    @Override public List<ModelBlock> blocks() { return blocks; }
    @Override public INDArray weight(QuantTarget t) { return view.weight(target(t)); }
    @Override public void setWeight(QuantTarget t, INDArray outIn) { view.setWeight(target(t), outIn); }
    @Override public String calibrationKind() { return "CalibrationData (network inputs)"; }

    @Override
    public INDArray bias(QuantTarget t) {
        INDArray b = view.bias(target(t));
        return b == null ? null : b.dup();
    }

    @Override
    public void setBias(QuantTarget t, INDArray bias) {
        INDArray b = view.bias(target(t));
        if (b == null || b.length() != bias.length()) {
            throw new QuantizationException("layer '" + t.name() + "': " + (b == null ? "has no bias"
                    : "its bias has " + b.length() + " values, the new one " + bias.length()));
        }
        b.assign(bias.reshape(b.shape()).castTo(b.dataType()));
    }

    @Override
    public Map<String, INDArray> otherParameters() {
        return view.otherParams();
    }

    @Override
    public CalibrationPass open(CalibrationInput data) {
        if (!(data instanceof CalibrationData d)) {
            throw QuantizableModel.wrongCalibration(this, data);
        }
        if (runner == null) {
            throw new QuantizationException(name + ": " + runnerError);
        }
        if (network instanceof MultiLayerNetwork net) {
            return new MultiLayerPass(net, runner, blocks, firstLayer, this::target, d);
        }
        return new CalibrationPass() {
            @Override
            public void capture(int block, int group, BiConsumer<TargetGroup, INDArray> sink) {
                TargetGroup g = blocks.get(block).groups().get(group);
                d.forEachRows(runner, target(g.first()), rows -> sink.accept(g, rows));
            }

            @Override
            public void advance(int block, BiConsumer<TargetGroup, INDArray> sink) {
                if (sink == null) {
                    return;
                }
                List<TargetGroup> groups = blocks.get(block).groups();
                for (int g = 0; g < groups.size(); g++) {
                    if (groups.get(g).first().capturable()) {
                        capture(block, g, sink);
                    }
                }
            }
        };
    }

    @Override
    public List<ScaleGroup> scaleGroups(int block) {
        List<ScaleGroup> out = new ArrayList<>();
        for (TargetGroup g : blocks.get(block).groups()) {
            QuantTarget t = g.first();
            out.add(new ScaleGroup(t.name(), g.targets(), foldNote(t.name()), null, (int) (t.columns() / t.shape()[1])));
        }
        return out;
    }

    /**
     * Multiplies every target's columns by its scales where {@code 1/s} is folded into the previous Dense (whose rows
     * and bias are divided); the others keep their float weight and store {@code s}.
     */
    @Override
    public Map<String, ScaledTarget> applyScales(int block, Map<String, float[]> scales) {
        Map<String, INDArray> originals = new LinkedHashMap<>();
        Map<String, float[]> rowScales = new LinkedHashMap<>();
        for (String n : scales.keySet()) {
            originals.put(n, view.weight(targets.get(n)));
        }
        for (Map.Entry<String, float[]> e : scales.entrySet()) {
            String previous = folds.into(e.getKey());
            if (previous == null) {
                continue;
            }
            WeightTarget p = targets.get(previous);
            WeightTarget t = targets.get(e.getKey());
            INDArray bias = view.bias(p);
            AwqFolding.LinearParams folded = AwqFolding.foldIntoPreviousLinear(view.weight(p), bias, e.getValue());
            view.setWeight(p, folded.weight());
            if (bias != null) {
                bias.assign(folded.bias().castTo(bias.dataType()));
            }
            view.setWeight(t, AwqFolding.scaleColumns(view.weight(t), e.getValue()));
            rowScales.put(previous, e.getValue());
        }
        Map<String, ScaledTarget> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : scales.entrySet()) {
            String n = e.getKey();
            INDArray w = view.weight(targets.get(n));
            INDArray current = w.reshape('c', w.size(0), w.length() / w.size(0));
            String previous = folds.into(n);
            float[] columns = columnScales(e.getValue(), (int) current.size(1));
            INDArray stored = previous != null ? current : AwqFolding.scaleColumns(current, columns);
            out.put(n, new ScaledTarget(originals.get(n), stored, columns, previous == null, rowScales.get(n),
                    e.getValue(), foldNote(n)));
        }
        return out;
    }

    /** Where {@code target}'s {@code 1/s} goes, for reports. */
    private String foldNote(String target) {
        String previous = folds.into(target);
        return previous != null ? "1/s folded into " + previous : "input_scale stored (" + folds.reason(target) + ")";
    }

    /** Channel scales repeated over each channel's {@code cols / channels} columns. */
    static float[] columnScales(float[] channels, int cols) {
        int per = cols / channels.length;
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = channels[c / per];
        }
        return out;
    }
}
