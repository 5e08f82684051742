package org.quant4j.model.bert;

import org.quant4j.core.QuantizationException;

/**
 * A model or tokenizer file quant4j cannot run: an ONNX graph with ops outside the supported set (the
 * message names them), a graph whose structure is not the BERT encoder the reader expects (the message
 * names the tensor or node where the walk stopped), or a tokenizer.json with an unsupported component.
 */
public class UnsupportedModelException extends QuantizationException {
    public UnsupportedModelException(String message) {
        super(message);
    }

    public UnsupportedModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
