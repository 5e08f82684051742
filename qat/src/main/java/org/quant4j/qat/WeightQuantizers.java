package org.quant4j.qat;

import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;

/** The {@link WeightQuantizer} of a {@link QuantSpec}. */
final class WeightQuantizers {
    private WeightQuantizers() {}

    /** @throws InvalidSpecException for formats QAT does not fake-quantize yet (NF4, FP8, FP4) */
    static WeightQuantizer of(QuantSpec spec) {
        return switch (spec.format()) {
            case INT -> new IntWeightQuantizer(spec.bits(), spec.symmetric(), spec.scaleEncoding());
            case TERNARY -> new TernaryWeightQuantizer(spec.scaleEncoding());
            default -> throw new InvalidSpecException("QAT weight fake quantization supports INT and TERNARY, not "
                    + spec.format() + " (" + spec.shortName() + ")");
        };
    }
}
