package org.quant4j.model;

import java.util.List;

/**
 * One block of a {@link QuantizableModel} (a transformer layer; a whole DL4J network): its groups in the order they
 * are calibrated and quantized.
 */
public record ModelBlock(String name, List<TargetGroup> groups) {
    public ModelBlock {
        groups = List.copyOf(groups);
    }
}
