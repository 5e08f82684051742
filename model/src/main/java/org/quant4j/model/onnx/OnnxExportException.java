package org.quant4j.model.onnx;

import org.quant4j.core.QuantizationException;

/**
 * A model cannot be written as an ONNX file ONNX Runtime runs: a tensor with no ONNX mapping, or a spec ONNX
 * Runtime's kernels cannot run. The message names the tensor (or node) and says why; no file is written.
 */
public class OnnxExportException extends QuantizationException {
    public OnnxExportException(String message) {
        super(message);
    }
}
