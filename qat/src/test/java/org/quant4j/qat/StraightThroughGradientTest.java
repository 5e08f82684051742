package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.calibration.observer.MinMaxObserver;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.formats.IntGrid;

/**
 * The gradients the fake quantizers define. Weights: the identity STE, i.e. the gradient DL4J computes
 * for the quantized network equals the gradient of a float network whose weights are {@code q(W)},
 * and the update lands on the float {@code W}. Activations: the backward pass against central finite
 * differences of the function whose derivative the estimator defines ({@code clamp} for clipped STE,
 * the identity for STE), composed with the wrapped activation.
 */
class StraightThroughGradientTest {
    private static final QuantSpec INT3_CHANNEL = QuantSpec.integer(3, true, Granularity.perChannel());

    @Test
    void weightGradientIsTheFloatGradientAtTheQuantizedWeights() {
        MultiLayerNetwork qat = smallNet();
        Qat.prepare(qat, QatConfig.builder().weights(INT3_CHANNEL).build());
        MultiLayerNetwork reference = smallNet();
        for (int i = 0; i < qat.getnLayers(); i++) {
            FakeQuantWeightNoise noise = (FakeQuantWeightNoise) ((org.deeplearning4j.nn.conf.layers.BaseLayer)
                    qat.getLayer(i).conf().getLayer()).getWeightNoise();
            reference.getLayer(i).setParam("W", noise.fakeQuantize(qat.getLayer(i).getParam("W"), 0));
        }
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 1, 6, 6).subi(0.3);
        INDArray y = Nd4j.eye(3).getRows(0, 1, 2, 0).castTo(DataType.FLOAT);
        qat.setInput(x);
        qat.setLabels(y);
        qat.computeGradientAndScore();
        reference.setInput(x);
        reference.setLabels(y);
        reference.computeGradientAndScore();
        assertThat(qat.score()).isCloseTo(reference.score(), within(1e-6));
        INDArray gq = qat.gradient().gradient();
        INDArray gr = reference.gradient().gradient();
        assertThat(gq.sub(gr).amaxNumber().doubleValue()).isLessThan(1e-6);
        assertThat(gr.amaxNumber().doubleValue()).isGreaterThan(1e-4);

        INDArray floatW = qat.getLayer(0).getParam("W").dup();
        INDArray gradW = qat.gradient().getGradientFor("0_W").dup();
        qat.fit(x, y);
        // SGD(0.1) moves the float weight by -0.1 * gradient / minibatch (4); q(W) is recomputed from it next pass
        assertThat(qat.getLayer(0).getParam("W").sub(floatW.sub(gradW.mul(0.1 / 4))).amaxNumber().doubleValue())
                .isLessThan(1e-6);
    }

    @Test
    void inferenceAlsoSeesTheQuantizedWeights() {
        MultiLayerNetwork qat = smallNet();
        MultiLayerNetwork untouched = smallNet();
        Qat.prepare(qat, QatConfig.builder().weights(INT3_CHANNEL).build());
        MultiLayerNetwork reference = smallNet();
        for (int i = 0; i < qat.getnLayers(); i++) {
            FakeQuantWeightNoise noise = (FakeQuantWeightNoise) ((org.deeplearning4j.nn.conf.layers.BaseLayer)
                    qat.getLayer(i).conf().getLayer()).getWeightNoise();
            reference.getLayer(i).setParam("W", noise.fakeQuantize(qat.getLayer(i).getParam("W"), 0));
        }
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 1, 6, 6).subi(0.3);
        INDArray out = qat.output(x, false);
        assertThat(out.sub(reference.output(x, false)).amaxNumber().doubleValue()).isLessThan(1e-6);
        assertThat(out.sub(untouched.output(x, false)).amaxNumber().doubleValue()).isGreaterThan(1e-4);
    }

    @Test
    void clippedSteBackwardIsTheDerivativeOfClampOfTheInnerActivation() {
        FakeQuantActivation act = observed(new ActivationIdentity(), 4, false, ActivationGradient.CLIPPED_STE, 1);
        act.getActivation(Nd4j.createFromArray(-1f, 2f), true); // range [-1, 2], frozen
        AffineGrid r = act.quantizer().grid();
        float lo = r.low() * r.scale();
        float hi = r.high() * r.scale();
        checkAgainstFiniteDifferences(act, x -> Math.max(lo, Math.min(hi, x)), lo, hi, r.scale());
    }

    @Test
    void clippedSteComposesWithReluBackward() {
        FakeQuantActivation act = observed(new ActivationReLU(), 8, false, ActivationGradient.CLIPPED_STE, 1);
        act.getActivation(Nd4j.createFromArray(-3f, 1.5f), true); // ReLU output range [0, 1.5]
        AffineGrid r = act.quantizer().grid();
        float hi = r.high() * r.scale();
        checkAgainstFiniteDifferences(act, x -> Math.min(hi, Math.max(0, x)), 0, hi, r.scale());
    }

    @Test
    void steBackwardPassesTheGradientEverywhere() {
        FakeQuantActivation act = observed(new ActivationIdentity(), 4, true, ActivationGradient.STE, 1);
        act.getActivation(Nd4j.createFromArray(-1f, 1f), true);
        checkAgainstFiniteDifferences(act, x -> x, Float.NaN, Float.NaN, act.quantizer().grid().scale());
    }

    @Test
    void forwardIsCoresIntGridWithTheObservedRange() {
        for (boolean symmetric : new boolean[] {false, true}) {
            FakeQuantActivation act = observed(new ActivationIdentity(), 8, symmetric, ActivationGradient.CLIPPED_STE, -1);
            float[] xs = Nd4j.rand(DataType.FLOAT, 1000).muli(3).subi(1).data().asFloat();
            INDArray q = act.getActivation(Nd4j.createFromArray(xs), true);
            IntGrid grid = IntGrid.of(QuantSpec.integer(8, symmetric, Granularity.perTensor()));
            IntGrid.Params p = grid.fit(xs, 0, xs.length);
            AffineGrid r = act.quantizer().grid();
            assertThat(r.scale()).isEqualTo(p.scale());
            assertThat(r.zero()).isEqualTo(p.zero());
            for (int i = 0; i < xs.length; i++) {
                assertThat(q.getFloat(i)).isEqualTo(grid.fakeQuantize(xs[i], p.scale(), p.zero()));
            }
            assertThat(q.sub(Nd4j.createFromArray(xs)).amaxNumber().doubleValue()).isLessThanOrEqualTo(p.scale() / 2 + 1e-6);
        }
    }

    private static FakeQuantActivation observed(org.nd4j.linalg.activations.IActivation inner, int bits, boolean symmetric,
                                                ActivationGradient gradient, int freezeAfter) {
        return new FakeQuantActivation("test", inner, new ObservedActivationQuantizer(
                IntGrid.of(QuantSpec.integer(bits, symmetric, Granularity.perTensor())),
                new MinMaxObserver(freezeAfter), gradient), QatConfig.builder().build());
    }

    /**
     * backprop(x, g) must equal g · f'(x) with f' by central differences, at points at least 2h away
     * from the kinks {@code lo}, {@code hi} and 0.
     */
    private static void checkAgainstFiniteDifferences(FakeQuantActivation act, java.util.function.DoubleUnaryOperator f,
                                                      float lo, float hi, float step) {
        java.util.Random random = new java.util.Random(3);
        int n = 400;
        float[] xs = new float[n];
        float h = 1e-3f;
        for (int i = 0; i < n; i++) {
            float v;
            do {
                v = (float) (random.nextDouble() * 6 - 3);
            } while (Math.abs(v - lo) < 2 * h + step || Math.abs(v - hi) < 2 * h + step || Math.abs(v) < 2 * h);
            xs[i] = v;
        }
        INDArray x = Nd4j.createFromArray(xs);
        INDArray g = Nd4j.rand(DataType.FLOAT, n).addi(0.5);
        INDArray dx = act.backprop(x.dup(), g.dup()).getFirst();
        int clipped = 0;
        for (int i = 0; i < n; i++) {
            double fd = (f.applyAsDouble(xs[i] + h) - f.applyAsDouble(xs[i] - h)) / (2 * h);
            assertThat(dx.getDouble(i)).as("x = %s", xs[i]).isCloseTo(g.getDouble(i) * fd, within(1e-3));
            clipped += fd == 0 ? 1 : 0;
        }
        if (!Float.isNaN(lo)) {
            assertThat(clipped).as("points outside the range").isPositive().isLessThan(n);
        }
    }

    private static MultiLayerNetwork smallNet() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(11).updater(new Sgd(0.1))
                .dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(6, 6, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
