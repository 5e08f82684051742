package org.quant4j.qat;

import org.quant4j.core.InvalidTensorException;

/** Training produced NaN or Inf (in a loss, a weight or an activation); the message names the layer and iteration. */
public class TrainingDivergedException extends InvalidTensorException {
    public TrainingDivergedException(String message) {
        super(message);
    }
}
