package org.quant4j.model.bert;

import org.quant4j.core.QuantizationException;

/**
 * Input the encoder cannot run: a sequence longer than the model's position table, a token id outside
 * the vocabulary, a tokenizer whose vocabulary does not match the model's embedding, a malformed mask.
 */
public class ModelInputException extends QuantizationException {
    public ModelInputException(String message) {
        super(message);
    }
}
