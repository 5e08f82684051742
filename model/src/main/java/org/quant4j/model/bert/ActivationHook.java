package org.quant4j.model.bert;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Receives the input activations of chosen dense layers during a forward pass, for calibration: one
 * call per target and batch with the rows of the tokens under the attention mask (padding excluded),
 * {@code [tokens, inFeatures]}, in batch-major token order. The rows are a fresh copy the hook may keep.
 */
public interface ActivationHook {
    /** Whether {@link #accept} should be called for {@code target} (rows are only gathered when true). */
    boolean wants(LinearTarget target);

    /** The input rows of {@code target} for the current batch. */
    void accept(LinearTarget target, INDArray rows);
}
