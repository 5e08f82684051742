package org.quant4j.core;

/** A {@link QuantSpec} that cannot exist (bits out of range, 1-bit asymmetric, bad group size...). */
public class InvalidSpecException extends QuantizationException {
    public InvalidSpecException(String message) {
        super(message);
    }
}
