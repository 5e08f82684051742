package org.quant4j.core;

/**
 * Base of every error quant4j raises for bad input: the message names the layer, tensor or file
 * concerned and says what to do. Subclasses tell the kind of problem apart.
 */
public class QuantizationException extends RuntimeException {
    public QuantizationException(String message) {
        super(message);
    }

    public QuantizationException(String message, Throwable cause) {
        super(message, cause);
    }
}
