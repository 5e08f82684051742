package org.quant4j.qat.samediff;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantizationException;

/**
 * Attached by {@link SameDiffQat#of}, which finds its builder through it: at the start of a training iteration, before
 * its forward pass, initialises the LSQ activation steps not yet initialised and feeds the observers not yet frozen
 * from that iteration's batch ({@link SameDiffQat#observeActivations}), so {@code sd.fit} needs no extra call. Inactive
 * outside training ({@code sd.output} updates nothing). Removing it ({@code sd.setListeners(...)}) leaves the steps
 * NaN and the observed ranges unchanged until {@link SameDiffQat#observeActivations} is called.
 */
final class ActivationInitListener extends BaseListener {
    private final SameDiffQat qat;

    ActivationInitListener(SameDiffQat qat) {
        this.qat = qat;
    }

    SameDiffQat qat() {
        return qat;
    }

    @Override
    public boolean isActive(Operation operation) {
        return operation == Operation.TRAINING;
    }

    @Override
    public void iterationStart(SameDiff sd, At at, org.nd4j.linalg.dataset.api.MultiDataSet data, long etlTimeMs) {
        if (!qat.needsBatch()) {
            return;
        }
        TrainingConfig config = sd.getTrainingConfig();
        List<String> names = config == null ? null : config.getDataSetFeatureMapping();
        if (names == null || names.size() != data.numFeatureArrays()) {
            throw new QuantizationException("cannot initialise or observe the activation quantizers: the training config maps "
                    + names + " to " + data.numFeatureArrays() + " feature arrays; call SameDiffQat.observeActivations");
        }
        Map<String, INDArray> placeholders = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            placeholders.put(names.get(i), data.getFeatures(i));
        }
        qat.observeActivations(placeholders);
    }
}
