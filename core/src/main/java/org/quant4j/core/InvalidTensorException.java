package org.quant4j.core;

/** A tensor that cannot be quantized as asked: NaN/Inf values, wrong shape, width not divisible by the group. */
public class InvalidTensorException extends QuantizationException {
    public InvalidTensorException(String message) {
        super(message);
    }

    public InvalidTensorException(String message, Throwable cause) {
        super(message, cause);
    }
}
