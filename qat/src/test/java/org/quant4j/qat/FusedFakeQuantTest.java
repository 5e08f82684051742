package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.model.zoo.LeNet5;

/**
 * The fused float[] paths (weights, activation forward, clipped-STE backward) against the ND4J formulation
 * they replace, bit for bit, including arrays that are views at an offset into a larger buffer.
 */
class FusedFakeQuantTest {

    @Property(tries = 20)
    void clippedSteBackwardEqualsTheMaskedInnerBackward(@ForAll @IntRange(min = 0, max = 2) int innerKind,
                                                        @ForAll @IntRange(min = 2, max = 8) int bits,
                                                        @ForAll boolean symmetric, @ForAll boolean withOffset,
                                                        @ForAll @IntRange(min = 0, max = 2) int layout,
                                                        @ForAll @IntRange(min = 1, max = 10_000) int seed) {
        IActivation inner = new IActivation[] {new ActivationIdentity(), new ActivationReLU(), new ActivationTanH()}[innerKind];
        IntGrid grid = IntGrid.of(QuantSpec.integer(bits, symmetric, Granularity.perTensor()));
        IntGrid.Params p = grid.fitRange(-0.7f, 0.9f);
        AffineGrid g = new AffineGrid(grid, p.scale(), p.zero(), withOffset ? 0.13f : 0f);
        INDArray z = values(seed, 3, 5, 4, p.scale());
        INDArray eps = Nd4j.rand(DataType.FLOAT, z.shape()).subi(0.5);
        INDArray expected = inner.backprop(z.dup(), eps.mul(ClippingMask.roundedCodeInRange(g,
                inner.getActivation(z.dup(), true)))).getFirst();
        FakeQuantActivation act = new FakeQuantActivation("test", inner, new FixedActivationQuantizer(g), QatConfig.builder().build());
        // layout 0: both 'c'; 1: z permuted as DL4J's convolution pre-activation, epsilon 'c'; 2: both permuted alike
        INDArray epsCopy = layout == 2 ? permutedCopy(eps) : eps.dup();
        INDArray got = act.backprop(layout == 0 ? z.dup() : permutedCopy(z), epsCopy).getFirst();
        assertBits(got, expected);
        assertBits(epsCopy, eps); // the caller's epsilon is left alone
    }

    /** The same values in a permuted memory layout: a dense array whose strides are not 'c' or 'f' ones. */
    private static INDArray permutedCopy(INDArray x) {
        INDArray p = Nd4j.create(DataType.FLOAT, x.size(1), x.size(0), x.size(2)).permute(1, 0, 2);
        p.assign(x);
        assertThat(RawFloats.elementwise(p)).isTrue();
        assertThat(RawFloats.dense(p, 'c') || RawFloats.dense(p, 'f')).isFalse();
        return p;
    }

    @Property(tries = 20)
    void activationForwardEqualsTheNd4jPath(@ForAll @IntRange(min = 2, max = 8) int bits, @ForAll boolean symmetric,
                                            @ForAll boolean withOffset, @ForAll @IntRange(min = 1, max = 10_000) int seed) {
        IntGrid grid = IntGrid.of(QuantSpec.integer(bits, symmetric, Granularity.perTensor()));
        IntGrid.Params p = grid.fitRange(-0.5f, 1.1f);
        AffineGrid g = new AffineGrid(grid, p.scale(), p.zero(), withOffset ? -0.21f : 0f);
        INDArray a = values(seed, 2, 7, 3, p.scale());
        INDArray expected = g.fakeQuantizeInPlace(a.dup().reshape(a.length()).dup()); // 1-D copy: the ND4J ops
        // a view at an offset into a larger buffer takes the fused path and keeps the rest of the buffer intact
        INDArray big = Nd4j.create(DataType.FLOAT, 2 * a.length() + 5).assign(42f);
        INDArray view = big.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(5, 5 + a.length())).reshape(a.shape());
        view.assign(a);
        assertThat(RawFloats.elementwise(view)).isTrue();
        INDArray got = new FixedActivationQuantizer(g).forward(view, true);
        assertBits(got.reshape(a.length()), expected);
        assertThat(big.getFloat(4)).isEqualTo(42f);
        assertThat(big.getFloat(5 + a.length())).isEqualTo(42f);
        // a permuted layout (DL4J's convolution activations) is quantized element by element in memory order
        INDArray permuted = permutedCopy(a);
        assertBits(new FixedActivationQuantizer(g).forward(permuted, true).reshape(a.length()), expected);
    }

    @Property(tries = 10)
    void observedForwardObservesAndQuantizesLikeCore(@ForAll @IntRange(min = 1, max = 10_000) int seed) {
        IntGrid grid = IntGrid.of(QuantSpec.integer(8, false, Granularity.perTensor()));
        ObservedActivationQuantizer q = new ObservedActivationQuantizer(grid,
                new org.quant4j.calibration.observer.MinMaxObserver(-1), ActivationGradient.CLIPPED_STE);
        INDArray a = values(seed, 4, 3, 2, 0.01f);
        float[] xs = a.dup('c').data().asFloat();
        INDArray got = q.forward(a, true);
        IntGrid.Params p = grid.fit(xs, 0, xs.length);
        float[] out = new float[xs.length];
        grid.fakeQuantize(xs, 0, xs.length, p, out, 0);
        assertThat(got.dup('c').data().asFloat()).containsExactly(out);
    }

    /** The weights of a real network are views at offsets into its parameter vector ('f' order for Dense). */
    @Property(tries = 6)
    void networkParameterViewsAreQuantizedLikeCore(@ForAll @IntRange(min = 0, max = 2) int granularityKind,
                                                   @ForAll boolean symmetric) {
        MultiLayerNetwork net = LeNet5.network(3);
        QuantSpec spec = WeightQuantizerTest.spec(4, symmetric, granularityKind, 5, 0, false);
        for (int layer : new int[] {0, 2, 4, 5, 6}) {
            INDArray w = net.getLayer(layer).getParam("W");
            if (granularityKind == 2 && (w.length() / (w.rank() == 4 ? w.size(0) : w.size(1))) % 5 != 0) {
                continue;
            }
            WeightLayout layout = w.rank() == 4 ? WeightLayout.CONVOLUTION : WeightLayout.DENSE;
            INDArray before = w.dup();
            INDArray q = new FakeQuantWeightNoise("layer " + layer, layout, spec).fakeQuantize(w, 0);
            assertThat(q.shape()).containsExactly(w.shape());
            WeightQuantizerTest.assertBitIdentical(layout.outIn(q), layout.outIn(w), spec);
            assertThat(w.equals(before)).isTrue();
        }
    }

    /** Values spread over the grid, with exact ties, zeros and values far outside the range. */
    private static INDArray values(int seed, int d0, int d1, int d2, float scale) {
        Random r = new Random(seed);
        float[] v = new float[d0 * d1 * d2];
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (r.nextInt(5)) {
                case 0 -> (r.nextInt(41) - 20) * 0.5f * scale;
                case 1 -> 0f;
                case 2 -> (float) r.nextGaussian() * 10;
                default -> (float) r.nextGaussian();
            };
        }
        return Nd4j.create(v, new long[] {d0, d1, d2}, 'c');
    }

    private static void assertBits(INDArray got, INDArray expected) {
        float[] g = got.dup('c').data().asFloat();
        float[] e = expected.dup('c').data().asFloat();
        assertThat(g.length).isEqualTo(e.length);
        for (int i = 0; i < g.length; i++) {
            assertThat(Float.floatToIntBits(g[i])).as("element %d: %s vs %s", i, g[i], e[i])
                    .isEqualTo(Float.floatToIntBits(e[i]));
        }
    }
}
