package org.quant4j.core.io;

import java.util.Random;
import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;

/**
 * Quantized tensors built directly from random codes and scales (independent of the format codecs): the file
 * format stores bytes, whatever produced them.
 */
final class TestModels {
    private TestModels() {}

    /** A model of a few KB: five quantized tensors of different formats and encodings, two fp32 tensors. */
    static QuantizedModel small(long seed) {
        Random r = new Random(seed);
        return QuantizedModel.builder().sourceModel("test/tiny-mlp")
                .metadata("method", "rtn").metadata("calibration", "none")
                .addQuantized("layer0.weight", tensor(r, QuantSpec.integer(4, false, Granularity.perGroup(8)), 1f, 6, 16))
                .addFloat("layer0.bias", floats(r, 6))
                .addQuantized("layer1.weight", tensor(r, QuantSpec.builder().bits(3).perChannel()
                        .scaleEncoding(NumberEncoding.BF16).build(), 1f, 5, 12))
                .addQuantized("layer2.weight", tensor(r, QuantSpec.ternary(), 1f, 4, 9))
                .addQuantized("layer3.weight", tensor(r, QuantSpec.mxfp4(), 1f, 2, 32))
                .addQuantized("layer4.weight", tensor(r, QuantSpec.fp8E4M3(), 0.375f, 3, 4))
                .addFloat("norm.gamma", floats(r, 2, 3))
                .build();
    }

    /** A model of about 2.5 KB for exhaustive corruption tests: three quantized tensors (one asymmetric), one fp32. */
    static QuantizedModel tiny(long seed) {
        Random r = new Random(seed);
        return QuantizedModel.builder().sourceModel("test/tiny")
                .addQuantized("a.weight", tensor(r, QuantSpec.integer(4, false, Granularity.perGroup(8)), 1f, 2, 16))
                .addFloat("a.bias", floats(r, 2))
                .addQuantized("b.weight", tensor(r, QuantSpec.ternary(), 1f, 3, 7))
                .addQuantized("c.weight", tensor(r, QuantSpec.fp8E5M2(), 0.375f, 2, 5))
                .build();
    }

    /** Random codes and scales for {@code spec}; asymmetric INT gets UINT zero points. */
    static QuantizedTensor tensor(Random r, QuantSpec spec, float globalScale, long... shape) {
        int n = 1;
        for (long d : shape) n *= (int) d;
        long rows = shape.length <= 1 ? 1 : shape[0];
        long cols = rows == 0 ? 0 : n / rows;
        int blocks = (int) spec.granularity().blockCount(rows, cols);
        byte[] codes = new byte[n];
        int levels = spec.format() == Format.TERNARY ? 3 : 1 << spec.bits();
        for (int i = 0; i < n; i++) codes[i] = (byte) r.nextInt(levels);
        byte[] packed = spec.format() == Format.TERNARY ? BitPacker.packTernary(codes, n) : BitPacker.pack(codes, n, spec.bits());
        EncodedArray scales = EncodedArray.encode(spec.scaleEncoding(), 0, randomValues(r, spec.scaleEncoding(), blocks));
        EncodedArray zeros = null;
        if (!spec.symmetric()) {
            float[] z = new float[blocks];
            for (int i = 0; i < blocks; i++) z[i] = r.nextInt(1 << spec.bits());
            zeros = spec.zeroEncoding() == NumberEncoding.UINT ? EncodedArray.encode(NumberEncoding.UINT, spec.bits(), z)
                    : EncodedArray.encode(spec.zeroEncoding(), 0, randomValues(r, spec.zeroEncoding(), blocks));
        }
        return new QuantizedTensor(spec, shape, packed, scales, zeros, globalScale);
    }

    /** Positive values already representable in {@code encoding}. */
    static float[] randomValues(Random r, NumberEncoding encoding, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = NumberEncodings.round(encoding, (float) Math.exp(r.nextGaussian() * 3));
        return v;
    }

    static FloatTensor floats(Random r, long... shape) {
        int n = 1;
        for (long d : shape) n *= (int) d;
        float[] data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float) r.nextGaussian();
        return new FloatTensor(shape, data);
    }
}
