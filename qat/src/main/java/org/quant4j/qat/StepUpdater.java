package org.quant4j.qat;

import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The updater state (e.g. Adam's moments) of one quantizer's learned parameters, kept with the quantizer so it is saved
 * and restored with it. DL4J's updaters are element-wise, so one updater per quantizer computes what one updater over
 * all of them would. The {@link GradientUpdater} itself is rebuilt over the stored state after a restore.
 */
final class StepUpdater implements Serializable {
    private static final long serialVersionUID = 1L;

    private float[] state;
    private int size = -1;
    private transient INDArray view;
    private transient GradientUpdater<?> updater;

    /**
     * Turns {@code gradient} (of {@code size} values, in place) into the update to subtract, as {@code config} does;
     * a size change (a quantizer initialised) starts from a fresh state.
     */
    void apply(IUpdater config, INDArray gradient, int iteration, int epoch) {
        int n = (int) gradient.length();
        if (n != size || (updater == null && state == null)) {
            long stateSize = config.stateSize(n);
            view = stateSize == 0 ? null : Nd4j.zeros(DataType.FLOAT, stateSize);
            updater = config.instantiate(view, true);
            size = n;
        } else if (updater == null) { // restored: the same updater over the saved state
            view = state.length == 0 ? null : Nd4j.create(state);
            updater = config.instantiate(view, false);
        }
        updater.applyUpdater(gradient, iteration, epoch);
    }

    /** The live state is copied out only when the quantizer is saved, not after every step. */
    private void writeObject(ObjectOutputStream out) throws IOException {
        if (updater != null) {
            state = view == null ? new float[0] : view.toFloatVector();
        }
        out.defaultWriteObject();
    }
}
