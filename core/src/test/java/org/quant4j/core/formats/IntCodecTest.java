package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Granularity;
import org.quant4j.core.Half;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

class IntCodecTest {

    /** Values that stress the grid: specials, subnormals, huge magnitudes, exact ties, constant and zero rows. */
    static float[] testData(Random rnd, int rows, int cols) {
        float[] specials = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, -1e-40f, Float.MIN_NORMAL, 1e30f,
                -1e30f, -3e38f, 3.4e38f, 65504f, 1f, -1f};
        float[] data = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            int style = rnd.nextInt(7);
            double magnitude = Math.pow(10, style == 1 ? rnd.nextInt(80) - 44 : rnd.nextInt(9) - 4);
            float constant = rnd.nextBoolean() ? specials[rnd.nextInt(specials.length)] : (float) rnd.nextGaussian();
            for (int c = 0; c < cols; c++) {
                double v = switch (style) {
                    case 0, 1 -> rnd.nextGaussian() * magnitude;
                    case 2 -> constant;
                    case 3 -> rnd.nextBoolean() ? 0f : -0f;
                    case 4 -> rnd.nextInt(3) == 0 ? specials[rnd.nextInt(specials.length)] : rnd.nextGaussian();
                    case 5 -> (rnd.nextInt(81) - 40) * 0.25; // many exact ties
                    default -> rnd.nextGaussian() * magnitude + 3 * magnitude; // all of one sign
                };
                data[r * cols + c] = (float) Math.max(-Float.MAX_VALUE, Math.min(Float.MAX_VALUE, v));
            }
        }
        return data;
    }

    @Provide
    Arbitrary<NumberEncoding> scaleEncodings() {
        return Arbitraries.of(NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16, NumberEncoding.E8M0);
    }

    @Provide
    Arbitrary<NumberEncoding> zeroEncodings() {
        return Arbitraries.of(NumberEncoding.UINT, NumberEncoding.FP16, NumberEncoding.FP32);
    }

    @Provide
    Arbitrary<Integer> groupSizes() {
        return Arbitraries.of(1, 2, 3, 5, 8, 16, 32, 64, 128);
    }

    static float largestFinite(NumberEncoding e) {
        return switch (e) {
            case FP16 -> Half.MAX;
            case BF16 -> 3.3895314e38f;
            case E8M0 -> 0x1p127f;
            default -> Float.MAX_VALUE;
        };
    }

    /** The encoding's next value below a positive representable {@code s}. */
    static float previous(NumberEncoding e, float s) {
        return switch (e) {
            case FP16 -> Half.toFloat(Half.fromFloat(s) - 1);
            case BF16 -> NumberEncodings.bf16ToFloat(NumberEncodings.floatToBf16(s) - 1);
            case E8M0 -> s / 2;
            default -> Math.nextDown(s);
        };
    }

    @Property(tries = 300)
    void roundTripErrorIsAtMostHalfTheStoredScale(
            @ForAll @IntRange(min = 2, max = 8) int bits, @ForAll boolean symmetric,
            @ForAll("scaleEncodings") NumberEncoding scaleEncoding, @ForAll("zeroEncodings") NumberEncoding zeroEncoding,
            @ForAll @IntRange(min = 0, max = 2) int granularityKind, @ForAll("groupSizes") int groupSize,
            @ForAll @IntRange(min = 1, max = 4) int groupsPerRow, @ForAll @IntRange(min = 1, max = 6) int rows,
            @ForAll long seed) {
        Granularity granularity = granularityKind == 0 ? Granularity.perTensor()
                : granularityKind == 1 ? Granularity.perChannel() : Granularity.perGroup(groupSize);
        QuantSpec spec = QuantSpec.builder().bits(bits).symmetric(symmetric).granularity(granularity)
                .scaleEncoding(scaleEncoding).zeroEncoding(zeroEncoding).build();
        int cols = groupSize * groupsPerRow;
        float[] data = testData(new Random(seed), rows, cols);
        long[] shape = {rows, cols};
        int blockLength = (int) granularity.blockLength(rows, cols);
        int blocks = data.length / blockLength;
        int maxCode = (1 << bits) - 1;

        double[] exactScale = new double[blocks];
        double[] lowerBound = new double[blocks];
        boolean fits = true;
        for (int b = 0; b < blocks; b++) {
            double min = 0;
            double max = 0;
            for (int i = b * blockLength; i < (b + 1) * blockLength; i++) {
                min = Math.min(min, data[i]);
                max = Math.max(max, data[i]);
            }
            exactScale[b] = symmetric ? 2 * Math.max(-min, max) / maxCode : (max - min) / maxCode;
            lowerBound[b] = min;
            fits &= exactScale[b] <= largestFinite(scaleEncoding);
        }
        Statistics.label("outcome").collect(fits ? "quantized" : "scale beyond the encoding");
        Statistics.label("scale encoding").collect(scaleEncoding);
        if (!fits) {
            assertThatThrownBy(() -> Quantizer.quantize("layer3.weight", data, shape, spec))
                    .isInstanceOf(InvalidTensorException.class)
                    .hasMessageContaining("layer3.weight")
                    .hasMessageContaining(scaleEncoding.toString());
            return;
        }

        QuantizedTensor q = Quantizer.quantize("w", data, shape, spec);
        float[] out = q.dequantizeToArray();
        byte[] codes = new byte[data.length];
        BitPacker.unpack(q.codes(), data.length, bits, codes);
        IntGrid grid = IntGrid.of(spec);
        float[] scales = q.scales().values();
        for (int b = 0; b < blocks; b++) {
            float s = scales[b];
            if (exactScale[b] == 0) {
                assertThat(s).isEqualTo(1f);
            } else {
                assertThat((double) s).as("scale covers block %d", b).isGreaterThanOrEqualTo(exactScale[b]);
                if (s > 0x1p-127f) {
                    assertThat((double) previous(scaleEncoding, s)).as("scale is the smallest such").isLessThan(exactScale[b]);
                }
            }
            float z = symmetric ? 1 << (bits - 1) : q.zeros().values()[b];
            if (!symmetric) {
                double exactZero = -lowerBound[b] / s;
                float expectedZero = zeroEncoding == NumberEncoding.UINT ? (float) Math.rint(exactZero)
                        : NumberEncodings.round(zeroEncoding, (float) exactZero);
                assertThat(z).isEqualTo(Math.min(Math.max(expectedZero, 0f), maxCode));
            }
            for (int i = b * blockLength; i < (b + 1) * blockLength; i++) {
                int c = codes[i] & 0xFF;
                assertThat(c).isEqualTo(grid.code(data[i], s, z));
                assertThat(out[i]).isEqualTo(grid.value(c, s, z));
                double error = Math.abs((double) data[i] - out[i]);
                double slack = s / 2.0 * 1e-4 + (Math.abs(data[i]) + Math.abs(out[i])) * 0x1p-23;
                assertThat(error).as("element %d = %s, scale %s, zero %s -> %s", i, data[i], s, z, out[i])
                        .isLessThanOrEqualTo(s / 2.0 + slack);
            }
        }

        long zeroBytes = symmetric ? 0
                : zeroEncoding == NumberEncoding.UINT ? ((long) blocks * bits + 7) / 8 : (long) blocks * zeroEncoding.bytesPerValue();
        long bytes = ((long) data.length * bits + 7) / 8 + (long) blocks * scaleEncoding.bytesPerValue() + zeroBytes;
        assertThat(q.bitsPerWeight()).isEqualTo(bytes * 8.0 / data.length);

        assertThat(Quantizer.quantize("w", data.clone(), shape, spec)).isEqualTo(q);
        QuantizedTensor reread = new QuantizedTensor(spec, shape, q.codes().clone(),
                EncodedArray.fromBytes(scaleEncoding, bits, blocks, q.scales().bytes()),
                symmetric ? null : EncodedArray.fromBytes(zeroEncoding, bits, blocks, q.zeros().bytes()), 1f);
        assertThat(reread.dequantizeToArray()).isEqualTo(out);
    }

    @Test
    void bitsPerWeightCountsCodesScalesAndZeroPoints() {
        Random rnd = new Random(1);
        float[] data = new float[8 * 256];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        long[] shape = {8, 256};
        Granularity g128 = Granularity.perGroup(128);
        assertThat(Quantizer.quantize("w", data, shape, QuantSpec.integer(4, true, g128)).bitsPerWeight())
                .isEqualTo(4 + 16.0 / 128);
        assertThat(Quantizer.quantize("w", data, shape, QuantSpec.integer(4, false, g128)).bitsPerWeight())
                .isEqualTo(4 + 16.0 / 128 + 4.0 / 128);
        QuantSpec fp16Zero = QuantSpec.builder().bits(4).asymmetric().granularity(g128)
                .zeroEncoding(NumberEncoding.FP16).build();
        assertThat(Quantizer.quantize("w", data, shape, fp16Zero).bitsPerWeight()).isEqualTo(4 + 32.0 / 128);
        QuantSpec int8Channel = QuantSpec.builder().bits(8).perChannel().scaleEncoding(NumberEncoding.FP32).build();
        assertThat(Quantizer.quantize("w", data, shape, int8Channel).bitsPerWeight()).isEqualTo(8 + 32.0 / 256);
    }

    /** Large enough for the parallel chunked path; a group of 96 straddles the 40960-element chunks. */
    @Test
    void theParallelChunkedPathEqualsTheElementwiseDefinition() {
        int rows = 48;
        int cols = 9600;
        Random rnd = new Random(7);
        float[] data = new float[rows * cols];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (rnd.nextGaussian() * (1 + i % 13));
        }
        long[] shape = {rows, cols};
        for (QuantSpec spec : new QuantSpec[] {
                QuantSpec.integer(3, false, Granularity.perGroup(96)),
                QuantSpec.integer(5, true, Granularity.perGroup(96)),
                QuantSpec.builder().bits(2).asymmetric().groupSize(96).zeroEncoding(NumberEncoding.FP32).build(),
                QuantSpec.integer(8, true, Granularity.perChannel()),
                QuantSpec.integer(4, false, Granularity.perTensor())}) {
            QuantizedTensor q = Quantizer.quantize("w", data, shape, spec);
            IntGrid grid = IntGrid.of(spec);
            int blockLength = (int) spec.granularity().blockLength(rows, cols);
            byte[] codes = new byte[data.length];
            BitPacker.unpack(q.codes(), data.length, spec.bits(), codes);
            float[] out = q.dequantizeToArray();
            for (int b = 0; b < data.length / blockLength; b++) {
                IntGrid.Params p = b == 0 && blockLength == data.length ? grid.fit(data, 0, data.length)
                        : grid.fit(data, b * blockLength, blockLength);
                assertThat(q.scales().values()[b]).as("%s block %d", spec, b).isEqualTo(p.scale());
                for (int i = b * blockLength; i < (b + 1) * blockLength; i++) {
                    int c = grid.code(data[i], p);
                    if ((codes[i] & 0xFF) != c || out[i] != grid.value(c, p.scale(), p.zero())) {
                        throw new AssertionError(spec + ": element " + i + " coded " + (codes[i] & 0xFF)
                                + " -> " + out[i] + ", expected " + c + " -> " + grid.value(c, p.scale(), p.zero()));
                    }
                }
            }
        }
    }

    @Test
    void allEqualRowsQuantizeWithinHalfAScale() {
        float[] constants = {0.37f, -5f, 1e-40f, -1e-20f, 3e4f};
        for (float v : constants) {
            float[] data = new float[4 * 16];
            java.util.Arrays.fill(data, v);
            for (int bits = 2; bits <= 8; bits++) {
                for (boolean symmetric : new boolean[] {true, false}) {
                    QuantSpec spec = QuantSpec.builder().bits(bits).symmetric(symmetric).groupSize(8).build();
                    QuantizedTensor q = Quantizer.quantize("w", data, new long[] {4, 16}, spec);
                    float[] out = q.dequantizeToArray();
                    for (int i = 0; i < data.length; i++) {
                        float s = q.scales().values()[i / 8];
                        assertThat(Math.abs((double) out[i] - v)).as("%s %s", spec, v)
                                .isLessThanOrEqualTo(s / 2.0 * (1 + 1e-6));
                    }
                }
            }
        }
    }

    @Test
    void quantizingAnNdArrayViewsItAsOutputChannelsTimesTheRest() {
        Random rnd = new Random(2);
        float[] data = new float[4 * 3 * 2 * 2];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        INDArray conv = Nd4j.create(data, new long[] {4, 3, 2, 2}, 'c');
        QuantSpec spec = QuantSpec.integer(4, false, Granularity.perGroup(6));
        QuantizedTensor fromArray = Quantizer.quantize("conv1.weight", conv.castTo(DataType.DOUBLE), spec);
        QuantizedTensor fromFloats = Quantizer.quantize("conv1.weight", data, new long[] {4, 3, 2, 2}, spec);
        assertThat(fromArray).isEqualTo(fromFloats);
        assertThat(fromArray.scales().count()).isEqualTo(8);
        INDArray back = fromArray.dequantize();
        assertThat(back.shape()).containsExactly(4, 3, 2, 2);
        assertThat(back.data().asFloat()).isEqualTo(fromFloats.dequantizeToArray());
    }

    @Test
    void dequantizeChecksTheOutputLength() {
        QuantizedTensor q = Quantizer.quantize("w", new float[8], new long[] {2, 4}, QuantSpec.integer(4, true,
                Granularity.perChannel()));
        assertThatThrownBy(() -> q.dequantizeInto(new float[7])).isInstanceOf(IllegalArgumentException.class);
    }
}
