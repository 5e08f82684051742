package org.quant4j.core.io;

import java.util.Random;
import org.quant4j.core.BitPacker;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.formats.MiniFloat;

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

    /**
     * A model of about 3.5 KB with CLAQ tensors for exhaustive corruption tests: one quantized tensor, a CLAQ tensor
     * with outliers ("claq.a", [10, 3], widths 2, 3, 4), one without ("claq.b", [6, 2], widths 1 and 2), one fp32.
     */
    static QuantizedModel withClaq(long seed) {
        Random r = new Random(seed);
        return QuantizedModel.builder().sourceModel("test/claq").metadata("method", "claq")
                .addQuantized("q.weight", tensor(r, QuantSpec.integer(4, true, Granularity.perChannel()), 1f, 1, 8))
                .addClaq("claq.a", claq(r, 10, new byte[] {2, 3, 4}, 4))
                .addClaq("claq.b", claq(r, 6, new byte[] {1, 2}, 0))
                .addFloat("claq.bias", floats(r, 3))
                .build();
    }

    /**
     * A CLAQ tensor of {@code rows × widths.length} with random codes and FP16 centroids and {@code outliers}
     * outliers at distinct random positions.
     */
    static ClaqTensor claq(Random r, int rows, byte[] widths, int outliers) {
        int cols = widths.length;
        int centroids = 0;
        int codeBytes = 0;
        for (byte b : widths) {
            centroids += 1 << b;
            codeBytes += (int) ClaqTensor.columnCodeBytes(rows, b);
        }
        float[] codebooks = new float[centroids];
        for (int i = 0; i < centroids; i++) codebooks[i] = NumberEncodings.round(NumberEncoding.FP16, (float) r.nextGaussian());
        byte[] codes = new byte[codeBytes];
        byte[] column = new byte[rows];
        for (int j = 0, at = 0; j < cols; j++) {
            for (int i = 0; i < rows; i++) column[i] = (byte) r.nextInt(1 << widths[j]);
            BitPacker.pack(column, 0, rows, widths[j], codes, at);
            at += (int) ClaqTensor.columnCodeBytes(rows, widths[j]);
        }
        boolean[][] chosen = new boolean[cols][rows];
        for (int k = 0; k < outliers; ) {
            int j = r.nextInt(cols);
            int i = r.nextInt(rows);
            if (!chosen[j][i]) {
                chosen[j][i] = true;
                k++;
            }
        }
        int[] start = new int[cols + 1];
        int[] outlierRows = new int[outliers];
        float[] values = new float[outliers];
        for (int j = 0, k = 0; j < cols; j++) {
            for (int i = 0; i < rows; i++) {
                if (chosen[j][i]) {
                    outlierRows[k] = i;
                    values[k++] = NumberEncodings.round(NumberEncoding.FP16, (float) (10 * r.nextGaussian()));
                }
            }
            start[j + 1] = k;
        }
        return new ClaqTensor(new long[] {rows, cols}, widths, EncodedArray.encode(NumberEncoding.FP16, 16, codebooks),
                codes, start, outlierRows, EncodedArray.encode(NumberEncoding.FP16, 16, values));
    }

    /** Random valid codes and scales for {@code spec}; asymmetric INT gets UINT zero points. */
    static QuantizedTensor tensor(Random r, QuantSpec spec, float globalScale, long... shape) {
        int n = 1;
        for (long d : shape) n *= (int) d;
        long rows = shape.length <= 1 ? 1 : shape[0];
        long cols = rows == 0 ? 0 : n / rows;
        int blocks = (int) spec.granularity().blockCount(rows, cols);
        byte[] codes = new byte[n];
        int levels = spec.format() == Format.TERNARY ? 3 : 1 << spec.bits();
        MiniFloat fp8 = spec.format() == Format.FP8_E4M3 ? MiniFloat.E4M3 : spec.format() == Format.FP8_E5M2 ? MiniFloat.E5M2 : null;
        for (int i = 0; i < n; i++) {
            do {
                codes[i] = (byte) r.nextInt(levels);
            } while (fp8 != null && !Float.isFinite(fp8.decode(codes[i] & 0xFF))); // the reader refuses NaN/Inf codes
        }
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

    /** Positive values already representable in {@code encoding} (1 where one would round to 0, as E4M3 can). */
    static float[] randomValues(Random r, NumberEncoding encoding, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = NumberEncodings.round(encoding, (float) Math.exp(r.nextGaussian() * 3));
            v[i] = v[i] > 0 ? v[i] : 1f;
        }
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
