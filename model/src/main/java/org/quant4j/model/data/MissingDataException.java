package org.quant4j.model.data;

import org.quant4j.core.QuantizationException;

/** A data set the build should have cached is absent; the message names the path and the command that fetches it. */
public class MissingDataException extends QuantizationException {
    public MissingDataException(String message) {
        super(message);
    }
}
