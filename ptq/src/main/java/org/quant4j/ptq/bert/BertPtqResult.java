package org.quant4j.ptq.bert;

import java.io.IOException;
import java.nio.file.Path;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.ptq.pipeline.PtqReport;

/**
 * A finished {@link BertPtq} run: the quantized model (every target, AWQ input scales, every other parameter
 * as fp32) and the report. It exists only when every target was quantized.
 */
public record BertPtqResult(QuantizedModel model, PtqReport report) {
    /** Writes the model file, all or nothing ({@link ModelFileWriter}). */
    public void writeModel(Path file) throws IOException {
        ModelFileWriter.write(file, model);
    }
}
