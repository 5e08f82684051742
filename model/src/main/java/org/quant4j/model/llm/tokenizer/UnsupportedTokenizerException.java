package org.quant4j.model.llm.tokenizer;

import org.quant4j.core.QuantizationException;

/** A tokenizer that the file does not describe, or describes in a way quant4j does not implement (the message names the file and the value). */
public class UnsupportedTokenizerException extends QuantizationException {
    public UnsupportedTokenizerException(String message) {
        super(message);
    }
}
