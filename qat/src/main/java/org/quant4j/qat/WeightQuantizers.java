package org.quant4j.qat;

import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.TernaryScale;

/** The {@link WeightQuantizer} of a {@link QuantSpec}. */
final class WeightQuantizers {
    private WeightQuantizers() {}

    /**
     * INT: the vectorised {@link IntWeightQuantizer}; TERNARY, NF4, FP8 (E4M3/E5M2) and FP4 (MXFP4/NVFP4):
     * core's codec round trip ({@link CodecWeightQuantizer}); ternary with the threshold and scale rule
     * {@code ternaryScale}.
     *
     * @throws InvalidSpecException for formats QAT does not fake-quantize
     */
    static WeightQuantizer of(String layerName, QuantSpec spec, TernaryScale ternaryScale) {
        check(spec);
        return switch (spec.format()) {
            case INT -> new IntWeightQuantizer(spec);
            default -> new CodecWeightQuantizer(layerName, spec, ternaryScale);
        };
    }

    /**
     * Every core format trains: INT and TERNARY, and NF4, FP8 and FP4 through their codecs. Double-quantized NF4
     * scales (DQ8) are refused: their second-level blocks of 256 scales tie layers together in ways the codec
     * decides per tensor, which is fine for storage but gives training a moving target; train with FP32 NF4
     * scales and double-quantize when converting.
     *
     * @throws InvalidSpecException if QAT cannot fake-quantize weights with {@code spec}
     */
    static void check(QuantSpec spec) {
        if (spec.scaleEncoding() == NumberEncoding.DQ8) {
            throw new InvalidSpecException("QAT trains NF4 with FP32 block scales, not double-quantized ones ("
                    + spec.shortName() + "); use QuantSpec.nf4(false)");
        }
    }
}
