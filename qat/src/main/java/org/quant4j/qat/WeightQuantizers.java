package org.quant4j.qat;

import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;

/** The {@link WeightQuantizer} of a {@link QuantSpec}. */
final class WeightQuantizers {
    private WeightQuantizers() {}

    /**
     * INT: the vectorised {@link IntWeightQuantizer}; TERNARY: core's codec round trip.
     *
     * @throws InvalidSpecException for formats QAT does not fake-quantize
     */
    static WeightQuantizer of(String layerName, QuantSpec spec) {
        check(spec);
        return switch (spec.format()) {
            case INT -> new IntWeightQuantizer(spec);
            default -> new CodecWeightQuantizer(layerName, spec);
        };
    }

    /** @throws InvalidSpecException if QAT cannot fake-quantize weights with {@code spec} */
    static void check(QuantSpec spec) {
        switch (spec.format()) {
            case INT, TERNARY -> { }
            default -> throw new InvalidSpecException("QAT weight fake quantization supports INT and TERNARY, not "
                    + spec.format() + " (" + spec.shortName() + ")");
        }
    }
}
