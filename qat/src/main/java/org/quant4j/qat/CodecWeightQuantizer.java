package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.buffer.DataType;
import org.quant4j.core.Format;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.TernaryScale;
import org.quant4j.core.formats.TwnTernary;

/**
 * Fake quantization through core's codec round trip, {@code Quantizer.quantize(w).dequantize()}: exact by
 * construction for every format (ternary absmean, NF4 codebook, FP8 and FP4 minifloats with their block
 * scales), whose scale rules (absmean sums, E8M0 shared exponents, NVFP4's two-level scales) are not
 * re-implemented here. The codecs run on raw float arrays at over 1 GB/s, so the cost is the copy out of
 * and back into ND4J. Ternary weights use the {@link TernaryScale} of the config: BitNet's absmean (core's codec)
 * or TWN's threshold and scale ({@link TwnTernary}), stored in the same ternary format.
 */
final class CodecWeightQuantizer implements WeightQuantizer {
    private static final long serialVersionUID = 1L;
    private final QuantSpec spec;
    private final String layerName;
    private final boolean twn;

    CodecWeightQuantizer(String layerName, QuantSpec spec, TernaryScale ternaryScale) {
        this.layerName = layerName;
        this.spec = spec;
        this.twn = spec.format() == Format.TERNARY && ternaryScale == TernaryScale.TWN;
    }

    @Override
    public INDArray fakeQuantize(INDArray outIn) {
        return Nd4j.create(quantize(layerName, outIn).dequantizeToArray(), outIn.shape(), 'c');
    }

    @Override
    public QuantizedTensor quantize(String name, INDArray weight) {
        if (twn) {
            float[] data = weight.dup('c').castTo(DataType.FLOAT).data().asFloat();
            return TwnTernary.quantize(name, data, weight.shape(), spec);
        }
        return Quantizer.quantize(name, weight, spec);
    }
}
