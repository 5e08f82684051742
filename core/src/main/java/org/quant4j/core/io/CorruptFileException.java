package org.quant4j.core.io;

import org.quant4j.core.QuantizationException;

/** A model file that is truncated, corrupted (bad CRC), of an unknown version or inconsistent. */
public class CorruptFileException extends QuantizationException {
    public CorruptFileException(String message) {
        super(message);
    }

    public CorruptFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
