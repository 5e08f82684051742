package org.quant4j.qat;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.recurrent.LSTM;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's {@code LSTM} with fake quantization of its output sequence {@code h} (what the next layer receives). The
 * LSTM's configured activation function is the cell's {@code tanh}, inside {@code h = o ⊙ tanh(c)}, so wrapping it
 * would not quantize {@code h}. The recurrence inside the layer (the {@code h_{t-1}} fed back to {@code RW}, the cell
 * state and the gates) stays in float: DL4J's LSTM kernel is used as it is, for standard and truncated BPTT.
 */
final class QuantizedOutputLstm extends LSTM {
    private final OutputQuantization output;

    QuantizedOutputLstm(NeuralNetConfiguration conf, DataType dataType, OutputQuantization output) {
        super(conf, dataType);
        this.output = output;
    }

    OutputQuantization output() {
        return output;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        return output.forward(super.activate(training, workspaceMgr), training, workspaceMgr);
    }

    @Override
    public INDArray activate(INDArray input, boolean training, LayerWorkspaceMgr workspaceMgr) {
        return output.forward(super.activate(input, training, workspaceMgr), training, workspaceMgr);
    }

    @Override
    public INDArray rnnTimeStep(INDArray input, LayerWorkspaceMgr workspaceMgr) {
        return output.forward(super.rnnTimeStep(input, workspaceMgr), false, workspaceMgr);
    }

    @Override
    public INDArray rnnActivateUsingStoredState(INDArray input, boolean training, boolean storeLastForTBPTT,
                                                LayerWorkspaceMgr workspaceMgr) {
        return output.forward(super.rnnActivateUsingStoredState(input, training, storeLastForTBPTT, workspaceMgr),
                training, workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        return super.backpropGradient(output.backward(epsilon), workspaceMgr);
    }

    /**
     * Truncated BPTT: DL4J runs each segment forward with {@link #rnnActivateUsingStoredState} (training), whose
     * output is what {@link OutputQuantization#backward} differentiates, then calls this with the segment's epsilon.
     */
    @Override
    public Pair<Gradient, INDArray> tbpttBackpropGradient(INDArray epsilon, int tbpttBackLength,
                                                          LayerWorkspaceMgr workspaceMgr) {
        return super.tbpttBackpropGradient(output.backward(epsilon), tbpttBackLength, workspaceMgr);
    }
}
