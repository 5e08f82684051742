package org.quant4j.qat;

import org.quant4j.core.QuantizationException;

/** A network holds a layer QAT cannot prepare; the message names it and lists the supported layers. */
public class UnsupportedLayerException extends QuantizationException {
    public UnsupportedLayerException(String message) {
        super(message);
    }
}
