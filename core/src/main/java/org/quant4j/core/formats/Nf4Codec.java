package org.quant4j.core.formats;

import org.quant4j.core.FormatCodec;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/** Placeholder until the codec lands. */
public final class Nf4Codec implements FormatCodec {
    @Override
    public QuantizedTensor quantize(float[] data, long[] shape, QuantSpec spec) {
        throw new UnsupportedOperationException("TODO: implement");
    }

    @Override
    public void dequantize(QuantizedTensor t, float[] out) {
        throw new UnsupportedOperationException("TODO: implement");
    }
}
