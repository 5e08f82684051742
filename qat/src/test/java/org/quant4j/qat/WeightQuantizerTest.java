package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.Quantizer;
import org.quant4j.core.formats.IntGrid;

/**
 * The vectorised weight fake quantizer computes exactly core's grid: for DL4J's Dense {@code [nIn, nOut]}
 * and Convolution {@code [out, in, kh, kw]} layouts, every granularity, bit width, symmetric or not, integer
 * or fractional zero points and every scale encoding, its values are bit-identical to core's
 * {@code Quantizer.quantize(...).dequantize()} of the same weight in {@code [out, in]} layout, and to
 * {@link IntGrid#fakeQuantize(float, float, float)} element by element.
 */
class WeightQuantizerTest {

    @Property(tries = 60)
    void denseIntIsBitIdenticalToCoresRoundTrip(@ForAll @IntRange(min = 2, max = 8) int bits, @ForAll boolean symmetric,
                                                @ForAll @IntRange(min = 0, max = 2) int granularityKind,
                                                @ForAll @IntRange(min = 0, max = 2) int encodingKind,
                                                @ForAll boolean fractionalZero,
                                                @ForAll @IntRange(min = 1, max = 100_000) int seed) {
        int g = 4, nIn = 3 * g, nOut = 5;
        QuantSpec spec = spec(bits, symmetric, granularityKind, g, encodingKind, fractionalZero);
        INDArray dl4jW = Nd4j.create(randomMatrix(nIn, nOut, seed)).castTo(DataType.FLOAT).dup('f');
        INDArray q = new FakeQuantWeightNoise("dense", WeightLayout.DENSE, spec).fakeQuantize(dl4jW, 0);
        assertThat(q.shape()).containsExactly(nIn, nOut);
        assertBitIdentical(q.transpose(), dl4jW.transpose(), spec);
    }

    @Property(tries = 40)
    void convolutionIntIsBitIdenticalToCoresRoundTrip(@ForAll @IntRange(min = 2, max = 8) int bits,
                                                      @ForAll boolean symmetric,
                                                      @ForAll @IntRange(min = 0, max = 2) int granularityKind,
                                                      @ForAll @IntRange(min = 1, max = 100_000) int seed) {
        int out = 3, in = 2, k = 3; // input width 18, group 6
        QuantSpec spec = spec(bits, symmetric, granularityKind, 6, 0, false);
        Nd4j.getRandom().setSeed(seed);
        INDArray w = Nd4j.randn(DataType.FLOAT, out, in, k, k).muli(seed % 7 + 1).addi(seed % 3 == 0 ? 0.4 : 0);
        INDArray q = new FakeQuantWeightNoise("conv", WeightLayout.CONVOLUTION, spec).fakeQuantize(w, 0);
        assertThat(q.shape()).containsExactly(out, in, k, k);
        assertBitIdentical(q, w, spec);
    }

    /**
     * Weights exactly halfway between grid points (a power-of-two scale): round half to even, as
     * {@link Math#rint} and {@code torch.round}; round-half-away-from-zero would differ on every other tie.
     */
    @Property(tries = 20)
    void tiesRoundToEven(@ForAll @IntRange(min = 2, max = 8) int bits, @ForAll @IntRange(min = -6, max = 6) int exponent) {
        float scale = (float) Math.scalb(1.0, exponent);
        int half = 1 << (bits - 1);
        float[] row = new float[2 * half + 1];
        row[0] = (half - 0.5f) * scale; // amax = scale · (2^b - 1) / 2: the symmetric grid's scale is exactly `scale`
        for (int k = 1; k < row.length; k++) {
            row[k] = (k - half - 0.5f) * scale;
        }
        QuantSpec spec = QuantSpec.integer(bits, true, Granularity.perChannel());
        INDArray w = Nd4j.create(row, new long[] {1, row.length}, 'c');
        INDArray q = new IntWeightQuantizer(spec).fakeQuantize(w);
        for (int k = 0; k < row.length; k++) {
            double even = Math.rint(row[k] / scale) * scale;
            assertThat(q.getFloat(0, k)).as("%s·scale", row[k] / scale)
                    .isEqualTo((float) Math.max(-half * scale, Math.min((half - 1) * scale, even)));
        }
        assertBitIdentical(q, w, spec);
    }

    @Property(tries = 10)
    void ternaryGoesThroughCoresCodecInTheDenseLayout(@ForAll @IntRange(min = 1, max = 1000) int seed) {
        INDArray w = Nd4j.create(randomMatrix(8, 4, seed)).castTo(DataType.FLOAT).dup('f');
        QuantSpec spec = QuantSpec.ternary().toBuilder().perChannel().build();
        INDArray q = new FakeQuantWeightNoise("dense", WeightLayout.DENSE, spec).fakeQuantize(w, 0);
        float[] expected = Quantizer.quantize("w", w.transpose(), spec).dequantizeToArray();
        assertThat(q.transpose().dup('c').data().asFloat()).containsExactly(expected);
    }

    /** NF4, FP8 and FP4 weights: the fake quantization is core's codec round trip of the {@code [out, in]} matrix. */
    @Property(tries = 12)
    void floatFormatsGoThroughCoresCodecs(@ForAll @IntRange(min = 0, max = 4) int format,
                                          @ForAll @IntRange(min = 1, max = 1000) int seed) {
        QuantSpec spec = new QuantSpec[] {QuantSpec.nf4(false), QuantSpec.fp8E4M3(), QuantSpec.fp8E5M2(),
                QuantSpec.mxfp4(), QuantSpec.nvfp4()}[format];
        INDArray w = Nd4j.create(randomMatrix(64, 6, seed)).castTo(DataType.FLOAT).dup('f'); // [nIn 64, nOut 6]
        INDArray q = new FakeQuantWeightNoise("dense", WeightLayout.DENSE, spec).fakeQuantize(w, 0);
        float[] expected = Quantizer.quantize("w", w.transpose(), spec).dequantizeToArray();
        assertThat(q.transpose().dup('c').data().asFloat()).containsExactly(expected);
        assertThat(q.sub(w).amaxNumber().doubleValue()).isPositive().isLessThan(w.amaxNumber().doubleValue() / 2);
    }

    @Property(tries = 6)
    void zeroWeightsStayZero(@ForAll boolean symmetric, @ForAll @IntRange(min = 0, max = 2) int granularityKind) {
        QuantSpec spec = spec(3, symmetric, granularityKind, 3, 0, false);
        INDArray q = new FakeQuantWeightNoise("dense", WeightLayout.DENSE, spec).fakeQuantize(Nd4j.zeros(DataType.FLOAT, 6, 2), 0);
        assertThat(q.amaxNumber().doubleValue()).isZero();
    }

    @Property(tries = 1)
    void groupThatDoesNotDivideTheInputWidthIsRefusedWithTheLayerName() {
        assertThatThrownBy(() -> new FakeQuantWeightNoise("layer 3 (DenseLayer)", WeightLayout.DENSE,
                QuantSpec.integer(4, true, Granularity.perGroup(5))).fakeQuantize(Nd4j.zeros(DataType.FLOAT, 12, 2), 0))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("layer 3 (DenseLayer)").hasMessageContaining("does not divide the input width 12");
    }

    @Property(tries = 1)
    void nanWeightIsReportedWithLayerAndIteration() {
        INDArray w = Nd4j.ones(DataType.FLOAT, 4, 2);
        w.putScalar(1, 1, Float.NaN);
        assertThatThrownBy(() -> new FakeQuantWeightNoise("layer 0 (DenseLayer)", WeightLayout.DENSE,
                QuantSpec.integer(4, true, Granularity.perChannel())).fakeQuantize(w, 17))
                .isInstanceOf(TrainingDivergedException.class)
                .hasMessageContaining("layer 0 (DenseLayer), iteration 17").hasMessageContaining("NaN");
    }

    /**
     * {@code fakeQuant} (an {@code [out, in...]} array) has the float bits of core's quantize-dequantize of
     * {@code weight} and of IntGrid's scalar fake quantization with the block's fitted parameters.
     */
    static void assertBitIdentical(INDArray fakeQuant, INDArray weight, QuantSpec spec) {
        float[] data = weight.dup('c').data().asFloat();
        long[] shape = weight.shape();
        float[] got = fakeQuant.dup('c').data().asFloat();
        float[] core = Quantizer.quantize("w", data, shape, spec).dequantizeToArray();
        IntGrid grid = IntGrid.of(spec);
        int rows = (int) shape[0];
        int cols = data.length / rows;
        int length = switch (spec.granularity().kind()) {
            case TENSOR -> data.length;
            case CHANNEL -> cols;
            case GROUP -> spec.granularity().groupSize();
        };
        for (int i = 0; i < data.length; i++) {
            IntGrid.Params p = grid.fit(data, i / length * length, length);
            float scalar = grid.fakeQuantize(data[i], p.scale(), p.zero());
            assertThat(Float.floatToIntBits(got[i])).as("element %d (%s) of %s: got %s, core %s", i, data[i], spec,
                    got[i], core[i]).isEqualTo(Float.floatToIntBits(core[i])).isEqualTo(Float.floatToIntBits(scalar));
        }
    }

    static QuantSpec spec(int bits, boolean symmetric, int granularityKind, int group, int encodingKind,
                          boolean fractionalZero) {
        Granularity gran = granularityKind == 0 ? Granularity.perTensor()
                : granularityKind == 1 ? Granularity.perChannel() : Granularity.perGroup(group);
        NumberEncoding scale = new NumberEncoding[] {NumberEncoding.FP16, NumberEncoding.BF16, NumberEncoding.FP32}[encodingKind];
        return QuantSpec.builder().bits(bits).symmetric(symmetric).granularity(gran).scaleEncoding(scale)
                .zeroEncoding(fractionalZero ? NumberEncoding.FP16 : NumberEncoding.UINT).build();
    }

    private static float[][] randomMatrix(int rows, int cols, int seed) {
        Random r = new Random(seed);
        double spread = Math.pow(10, seed % 7 - 3);
        float[][] w = new float[rows][cols];
        for (float[] row : w) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) ((r.nextGaussian() + (seed % 3 == 0 ? 0.3 : 0)) * spread);
            }
        }
        return w;
    }
}
