package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;

/**
 * LSQ and LSQ+ gradients. The LSQ derivative of a fake-quantized value by its step is, by the paper's
 * construction, the derivative of {@code v̂(s) = ⌊u(s)⌉·s} with the rounding passed straight through:
 * {@code d/ds v̂ = ⌊u⌉ + s·du/ds} inside the range ({@code = ⌊u⌉ - u}, eq. 3) and {@code d/ds (bound·s)} outside.
 * Both terms are measured here by central finite differences of the real functions (the codes do not change
 * within the small step used), and compared with what the quantizers accumulate, element by element through
 * sums with random weights. The weight step gradient is checked at network level: DL4J's weight gradient
 * times eq. 3 must equal the finite-difference derivative of the loss along {@code ∂ŵ/∂s}.
 */
class LsqGradientTest {
    private static final double H = 1e-4;

    @Test
    void activationStepGradientIsEq3AndMatchesFiniteDifferences() {
        for (boolean symmetric : new boolean[] {false, true}) {
            LsqActivationQuantizer q = new LsqActivationQuantizer("act", QuantSpec.integer(4, symmetric, Granularity.perTensor()), false);
            float[] xs = sample(400, 3);
            INDArray a = Nd4j.create(xs, new long[] {8, 50}, 'c');
            q.forward(a.dup(), true);
            double meanAbs = 0;
            for (float x : xs) meanAbs += Math.abs(x);
            assertThat(q.step()).isCloseTo((float) (2 * meanAbs / xs.length / Math.sqrt(q.qp())), within(1e-6f));
            checkActivation(q, xs, 0f);
        }
    }

    @Test
    void lsqPlusOffsetAndStepGradientsMatchFiniteDifferences() {
        LsqActivationQuantizer q = new LsqActivationQuantizer("act", QuantSpec.integer(3, false, Granularity.perTensor()), true);
        float[] xs = sample(400, 5);
        q.forward(Nd4j.create(xs, new long[] {8, 50}, 'c'), true);
        float min = Float.MAX_VALUE;
        for (float x : xs) min = Math.min(min, x);
        assertThat(q.offset()).isEqualTo(min);
        // move the grid so that values fall outside on both sides
        q.write(new float[] {q.step() * 0.6f, q.offset() + 0.4f}, 0);
        checkActivation(q, xs, q.offset());
    }

    /** One backward pass of {@code q} on {@code xs} against finite differences, term by term. */
    private static void checkActivation(LsqActivationQuantizer q, float[] xs, float offset) {
        AffineGrid g = q.grid();
        float s = g.scale();
        Random random = new Random(11);
        float[] eps = new float[xs.length];
        for (int i = 0; i < eps.length; i++) eps[i] = (float) (random.nextDouble() - 0.3);
        INDArray a = Nd4j.create(xs, new long[] {8, 50}, 'c');
        float[] dx = q.backward(a, Nd4j.create(eps, new long[] {8, 50}, 'c')).dup('c').data().asFloat();
        float[] grads = new float[q.size()];
        q.takeGradient(grads, 0);

        double stepSum = 0, offsetSum = 0;
        int inside = 0, outside = 0;
        for (int i = 0; i < xs.length; i++) {
            double u = (xs[i] - offset) / s;
            if (Math.abs(u - Math.floor(u) - 0.5) < 1e-2 || Math.abs(u - g.low()) < 1e-2 || Math.abs(u - g.high()) < 1e-2) {
                continue; // too close to a rounding boundary or a clamp bound for a finite difference
            }
            final int k = i;
            boolean in = u > g.low() && u < g.high();
            // real v̂(s) and v̂(β) with the codes fixed, plus the rounding's straight-through term
            double dReal = (fq(xs[k], s + H, offset, g) - fq(xs[k], s - H, offset, g)) / (2 * H);
            double dU = ((xs[k] - offset) / (s + H) - (xs[k] - offset) / (s - H)) / (2 * H);
            double dStep = dReal + (in ? s * dU : 0);
            double dOffsetReal = (fq(xs[k], s, offset + H, g) - fq(xs[k], s, offset - H, g)) / (2 * H);
            double dOffset = dOffsetReal + (in ? s * (-1 / s) : 0);
            double dInput = (clampSte(xs[k] + H, s, offset, g) - clampSte(xs[k] - H, s, offset, g)) / (2 * H);
            double eq3 = in ? Math.rint(u) - u : (u <= g.low() ? g.low() : g.high());
            assertThat(dStep).as("x=%s", xs[k]).isCloseTo(eq3, within(2e-3));
            assertThat((double) dx[k]).as("∂â/∂a at %s", xs[k]).isCloseTo(eps[k] * dInput, within(1e-4));
            stepSum += eps[k] * dStep;
            offsetSum += eps[k] * dOffset;
            if (in) inside++; else outside++;
            eps[k] = 0; // counted: leave only the skipped elements for the exact-formula remainder
        }
        // the skipped elements (none at all in most samples) are added with the formula itself
        for (int i = 0; i < xs.length; i++) {
            if (eps[i] != 0) {
                double u = (xs[i] - offset) / s;
                boolean in = u > g.low() && u < g.high();
                stepSum += eps[i] * (in ? Math.rint(u) - u : (u <= g.low() ? g.low() : g.high()));
                offsetSum += eps[i] * (in ? 0 : 1);
            }
        }
        double scale = 1 / Math.sqrt(50.0 * q.qp());
        assertThat((double) grads[0]).isCloseTo(scale * stepSum, within(1e-3 * Math.max(1, Math.abs(scale * stepSum))));
        if (grads.length == 2) {
            assertThat((double) grads[1]).isCloseTo(scale * offsetSum, within(1e-3 * Math.max(1, Math.abs(scale * offsetSum))));
            assertThat(outside).isPositive();
        }
        assertThat(inside).isGreaterThan(xs.length / 3);
    }

    /** The real fake quantization of one value: {@code clamp(⌊(x-β)/s⌉, low, high)·s + β}. */
    private static double fq(double x, double s, double offset, AffineGrid g) {
        return Math.max(g.low(), Math.min(g.high(), Math.rint((x - offset) / s))) * s + offset;
    }

    /** The function whose derivative the clipped STE is: {@code clamp((x-β)/s, low, high)·s + β}. */
    private static double clampSte(double x, double s, double offset, AffineGrid g) {
        return Math.max(g.low(), Math.min(g.high(), (x - offset) / s)) * s + offset;
    }

    @Test
    void weightStepGradientIsTheLossDerivativeAlongEq3() {
        MultiLayerNetwork net = smallNet();
        QatConfig config = QatConfig.builder().weights(QuantSpec.integer(3, true, Granularity.perChannel()))
                .weightGradient(WeightGradient.LSQ).build();
        Qat.prepare(net, config);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 1, 6, 6).subi(0.3);
        INDArray y = Nd4j.eye(3).getRows(0, 1, 2, 0).castTo(DataType.FLOAT);
        net.setInput(x);
        net.setLabels(y);
        net.computeGradientAndScore();

        FakeQuantWeightNoise noise = (FakeQuantWeightNoise) ((BaseLayer) net.getLayer(1).conf().getLayer()).getWeightNoise();
        LsqWeightQuantizer lsq = (LsqWeightQuantizer) noise.quantizer();
        INDArray w = net.getLayer(1).getParam("W");                 // [nIn, nOut]
        INDArray gradView = net.gradient().getGradientFor("1_W");
        INDArray grad = gradView.dup();
        INDArray wHat = noise.fakeQuantize(w, 0).dup();
        float[] steps = lsq.storedSteps();
        lsq.accumulateGradient(WeightLayout.DENSE.outIn(w), WeightLayout.DENSE.outIn(gradView));
        float[] stepGrad = new float[lsq.size()];
        lsq.takeGradient(stepGrad, 0);

        // reference float network at ŵ: the loss derivative along d = ∂ŵ/∂s_o (eq. 3) for output channel o
        MultiLayerNetwork reference = smallNet();
        for (int l = 0; l < net.getnLayers(); l++) {
            FakeQuantWeightNoise n = (FakeQuantWeightNoise) ((BaseLayer) net.getLayer(l).conf().getLayer()).getWeightNoise();
            reference.getLayer(l).setParam("W", n.fakeQuantize(net.getLayer(l).getParam("W"), 0).dup());
            reference.getLayer(l).setParam("b", net.getLayer(l).getParam("b"));
        }
        long nIn = w.size(0);
        double gScale = 1 / Math.sqrt(nIn * (double) lsq.qp());
        for (int o = 0; o < w.size(1); o++) {
            INDArray d = Nd4j.zeros(DataType.FLOAT, w.shape());
            for (int i = 0; i < nIn; i++) {
                double u = w.getDouble(i, o) / steps[o];
                boolean in = u > -lsq.qp() - 1 && u < lsq.qp();
                d.putScalar(i, o, in ? Math.rint(u) - u : (u <= -lsq.qp() - 1 ? -lsq.qp() - 1 : lsq.qp()));
                double expectedGrad = in ? grad.getDouble(i, o) : 0;
                assertThat(gradView.getDouble(i, o)).isCloseTo(expectedGrad, within(1e-7));
            }
            double e = 1e-3;
            reference.getLayer(1).setParam("W", wHat.add(d.mul(e)));
            double plus = reference.score(new org.nd4j.linalg.dataset.DataSet(x, y), false);
            reference.getLayer(1).setParam("W", wHat.sub(d.mul(e)));
            double minus = reference.score(new org.nd4j.linalg.dataset.DataSet(x, y), false);
            double fd = (plus - minus) / (2 * e) * x.size(0); // DL4J's gradient is summed over the minibatch
            assertThat((double) stepGrad[o]).as("channel %d", o).isCloseTo(gScale * fd, within(2e-3 * Math.max(1, Math.abs(gScale * fd))));
        }
        float largest = 0;
        for (float v : stepGrad) largest = Math.max(largest, Math.abs(v));
        assertThat(largest).as("a step gradient that is not trivially zero").isGreaterThan(1e-4f);
    }

    @Test
    void fitTrainsTheStepsAndConvertStoresThem() {
        MultiLayerNetwork net = smallNet();
        Qat.prepare(net, QatConfig.builder().weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .weightGradient(WeightGradient.LSQ)
                .activations(QuantSpec.integer(8, false, Granularity.perTensor()))
                .activationGradient(ActivationGradient.LSQ_PLUS).build());
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 1, 6, 6).subi(0.3);
        INDArray y = Nd4j.eye(3).getRows(new int[] {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0}).castTo(DataType.FLOAT);
        net.fit(x, y);
        LsqWeightQuantizer lsq = (LsqWeightQuantizer) ((FakeQuantWeightNoise) ((BaseLayer) net.getLayer(0).conf().getLayer())
                .getWeightNoise()).quantizer();
        float[] first = lsq.storedSteps();
        for (int i = 0; i < 20; i++) {
            net.fit(x, y);
        }
        assertThat(lsq.storedSteps()).isNotEqualTo(first);
        INDArray expected = net.output(x, false);
        MultiLayerNetwork loaded = Qat.load(Qat.convert(net), net);
        assertThat(loaded.output(x, false).sub(expected).amaxNumber().doubleValue()).isLessThanOrEqualTo(1e-6);
        assertThat(Qat.convert(net).quantizedTensors().get("layer0/W").scales().values()).containsExactly(lsq.storedSteps());
    }

    @Test
    void removingTheTrainerStopsTrainingWithAMessage() {
        MultiLayerNetwork net = smallNet();
        Qat.prepare(net, QatConfig.builder().weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .weightGradient(WeightGradient.LSQ).build());
        net.setListeners(new org.deeplearning4j.optimize.listeners.ScoreIterationListener(100));
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 1, 6, 6);
        INDArray y = Nd4j.eye(3).getRows(0, 1, 2, 0).castTo(DataType.FLOAT);
        net.fit(x, y);
        assertThatThrownBy(() -> net.fit(x, y)).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("never applied").hasMessageContaining("addListeners");
    }

    @Test
    void lsqNeedsSymmetricIntWeightsAndLsqPlusAsymmetricActivations() {
        assertThatThrownBy(() -> QatConfig.builder().weights(QuantSpec.integer(4, false, Granularity.perChannel()))
                .weightGradient(WeightGradient.LSQ).build()).hasMessageContaining("symmetric INT");
        assertThatThrownBy(() -> QatConfig.builder().activations(QuantSpec.integer(8, true, Granularity.perTensor()))
                .activationGradient(ActivationGradient.LSQ_PLUS).build()).hasMessageContaining("asymmetric");
    }

    private static float[] sample(int n, long seed) {
        Random r = new Random(seed);
        float[] xs = new float[n];
        for (int i = 0; i < n; i++) xs[i] = (float) (r.nextGaussian() * 0.8 + 0.2);
        return xs;
    }

    static MultiLayerNetwork smallNet() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(11).updater(new Sgd(0.05))
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
