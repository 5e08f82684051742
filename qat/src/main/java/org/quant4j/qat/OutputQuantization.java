package org.quant4j.qat;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fake quantization of the output of a layer implementation of our own ({@link QuantizedOutputLstm},
 * {@link QatBatchNormalization}), for layers whose configured activation function is not their output: the forward
 * pass quantizes the layer's output with an {@link ActivationQuantizer}, the backward pass turns {@code ∂L/∂â} into
 * {@code ∂L/∂a} with it before the layer's own backward pass.
 */
final class OutputQuantization {
    private final String layerName;
    private final ActivationQuantizer quantizer;
    private INDArray lastTrainingOutput;

    OutputQuantization(String layerName, ActivationQuantizer quantizer) {
        this.layerName = layerName;
        this.quantizer = quantizer;
    }

    ActivationQuantizer quantizer() {
        return quantizer;
    }

    /** {@code fq(a)} as an activation array of {@code workspaceMgr}; {@code a} is not modified. */
    INDArray forward(INDArray a, boolean training, LayerWorkspaceMgr workspaceMgr) {
        INDArray copy;
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            copy = a.dup();
            if (training) {
                lastTrainingOutput = a.dup();
            }
        }
        INDArray q;
        try {
            q = quantizer.forward(copy, training);
        } catch (org.quant4j.core.InvalidTensorException e) {
            throw new TrainingDivergedException(layerName + " output: " + e.getMessage());
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, a.dataType(), a.shape(), a.ordering());
        return out.assign(q);
    }

    /** {@code ∂L/∂a} of the last training forward pass from {@code epsilon = ∂L/∂â}. */
    INDArray backward(INDArray epsilon) {
        if (lastTrainingOutput == null) {
            return epsilon;
        }
        return quantizer.backward(lastTrainingOutput, epsilon);
    }
}
