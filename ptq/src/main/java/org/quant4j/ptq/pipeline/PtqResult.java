package org.quant4j.ptq.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileWriter;

/**
 * A successful {@link PtqPipeline} run: the quantized model, a copy of the network carrying the dequantized weights
 * (ready to evaluate), and the report. It exists only when every target was quantized, so writing it never leaves a
 * partly quantized model file.
 *
 * @param network the input network's clone with every target replaced by its dequantized weight
 * @param model   the quantized weights plus the other parameters (biases...) in fp32
 * @param report  per layer error, time and bits per weight
 */
public record PtqResult<N>(N network, QuantizedModel model, PtqReport report) {
    /** Writes the model file, all or nothing ({@link ModelFileWriter}). */
    public void writeModel(Path file) throws IOException {
        ModelFileWriter.write(file, model);
    }
}
