package org.quant4j.calibration;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizationException;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.ModelBlock;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.TargetGroup;
import org.quant4j.model.WeightTarget;

/**
 * A calibration pass over a {@link MultiLayerNetwork} whose blocks are runs of its layers ({@link Dl4jModel}): it keeps
 * every batch's input of the current block's first layer and runs only that block's layers to capture or advance (the GPTQ
 * reference's {@code inps, outs = outs, inps}), so a pass costs one forward of the network in all, not one from the
 * input per target. Layers without weights (pooling, activation, dropout...) run with the block before them.
 */
final class MultiLayerPass implements CalibrationPass {
    private final MultiLayerInputs layers;
    private final CalibrationRunner runner;
    private final List<ModelBlock> blocks;
    private final int[] firstLayer;
    private final Function<QuantTarget, WeightTarget> targets;
    private List<INDArray> inputs;
    private int current;

    /**
     * @param firstLayer per block, the index of its first layer (increasing)
     * @param targets    the DL4J weight of a quantization target
     */
    MultiLayerPass(MultiLayerNetwork net, CalibrationRunner runner, List<ModelBlock> blocks, int[] firstLayer,
                   Function<QuantTarget, WeightTarget> targets, CalibrationData data) {
        this.layers = new MultiLayerInputs(net);
        this.runner = runner;
        this.blocks = blocks;
        this.firstLayer = firstLayer.clone();
        this.targets = targets;
        List<INDArray> batches = data.featureBatches();
        if (batches.isEmpty()) {
            CalibrationRunner.requireRows(targets.apply(blocks.get(0).groups().get(0).first()), 0,
                    "'" + data.description() + "' has no examples");
        }
        this.inputs = blocks.isEmpty() ? batches : run(batches, 0, firstLayer[0]);
    }

    @Override
    public void capture(int block, int group, BiConsumer<TargetGroup, INDArray> sink) {
        requireCurrent(block);
        TargetGroup g = blocks.get(block).groups().get(group);
        WeightTarget t = targets.apply(g.first());
        long rows = 0;
        for (INDArray x : inputs) {
            INDArray layerInput = layers.preprocessed(t.layerIndex(), run(x, firstLayer[block], t.layerIndex()));
            rows += runner.forEachRowsOfLayerInput(t, layerInput, r -> sink.accept(g, r));
        }
        CalibrationRunner.requireRows(t, rows, "its layer's input has no rows");
    }

    @Override
    public void advance(int block, BiConsumer<TargetGroup, INDArray> sink) {
        requireCurrent(block);
        if (sink != null) {
            List<TargetGroup> groups = blocks.get(block).groups();
            for (int g = 0; g < groups.size(); g++) {
                if (groups.get(g).first().capturable()) {
                    capture(block, g, sink);
                }
            }
        }
        if (block + 1 < blocks.size()) {
            inputs = run(inputs, firstLayer[block], firstLayer[block + 1]);
        }
        current = block + 1;
    }

    private List<INDArray> run(List<INDArray> batches, int from, int to) {
        List<INDArray> out = new ArrayList<>(batches.size());
        for (INDArray x : batches) {
            out.add(run(x, from, to));
        }
        return out;
    }

    /** Layers {@code from .. to − 1} on one batch, with the network's own failures reported against the layers. */
    private INDArray run(INDArray x, int from, int to) {
        try {
            return layers.run(from, to, x);
        } catch (QuantizationException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InvalidTensorException("layers " + from + ".." + (to - 1) + " cannot run on a calibration batch "
                    + "of shape " + Arrays.toString(x.shape()) + " (is the calibration data shaped as the network's "
                    + "input?): " + firstLine(e.getMessage()), e);
        }
    }

    private static String firstLine(String message) {
        return message == null ? "(no message)" : message.lines().findFirst().orElse("");
    }

    private void requireCurrent(int block) {
        if (block != current) {
            throw new IllegalStateException("the pass holds the inputs of block " + current + ", not of block " + block
                    + ": capture and advance blocks in order");
        }
    }
}
