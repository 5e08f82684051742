package org.quant4j.calibration;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Streaming statistics of one layer's inputs, accumulated over calibration batches with bounded memory:
 * the GPTQ Hessian {@code H = 2/n · Σ x xᵀ} (as the reference accumulates it: running mean, 2/n scaling),
 * per-input-channel mean |x| (for AWQ), and a bounded reservoir of input rows (for output-error search).
 */
public final class LayerStats {
    private final int inFeatures;

    public LayerStats(int inFeatures) {
        this.inFeatures = inFeatures;
    }

    public int inFeatures() {
        return inFeatures;
    }

    /** Adds a batch of input rows {@code [rows, inFeatures]}. */
    public void accumulate(String layer, INDArray rows) {
        throw new UnsupportedOperationException("TODO: implement");
    }

    /** Rows seen so far. */
    public long rowCount() {
        throw new UnsupportedOperationException("TODO: implement");
    }

    /** The Hessian {@code 2/n · XᵀX}, {@code [in, in]} float (a copy). */
    public INDArray hessian() {
        throw new UnsupportedOperationException("TODO: implement");
    }
}
