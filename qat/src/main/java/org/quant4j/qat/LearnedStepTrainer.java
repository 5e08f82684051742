package org.quant4j.qat;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * Trains LSQ steps and LSQ+ offsets inside DL4J's ordinary {@code net.fit} loop.
 *
 * <p>Why a listener: DL4J 1.0.0-M2.1 ignores the parameter gradient an {@code IActivation} returns and
 * gives {@code IWeightNoise} no trainable state, while both hooks see exactly the quantities LSQ's gradient
 * needs: the activation's {@code backprop} gets {@code ∂L/∂â}, and the weight gradient DL4J computes for a
 * noised weight is {@code ∂L/∂ŵ}. The quantizers turn these into {@code ∂L/∂s} (and {@code ∂L/∂β}) with the
 * paper's formulas; {@link #onGradientCalculation}, which DL4J calls after the backward pass and before
 * its updater, masks the weight gradients to LSQ's clipped STE, and applies the step gradients with an
 * updater of the same configuration as the network's (e.g. the same Adam and learning rate, cloned from
 * the first quantized layer), whose state each quantizer keeps ({@link StepUpdater}) so that it is saved with the
 * network; the listener itself holds no state and {@link Qat#rearm} attaches a new one after a restore. Layers of our own would have had to re-implement
 * DL4J's dense and convolution layers to get the same two sums. DL4J's weight gradient is summed over the
 * minibatch; the step gradients are divided by the minibatch size as DL4J's updater does for its own.
 */
public final class LearnedStepTrainer extends BaseTrainingListener {
    /**
     * An LSQ weight: its layer, parameter key and quantizer; {@code fold} is the folded BatchNormalization of a
     * convolution (the quantizer sees {@code W·s}, so its gradient is {@code ∂L/∂ŵ / s}), else null.
     */
    record Weight(int layerIndex, String paramKey, WeightLayout layout, LsqWeightQuantizer quantizer, BnFold fold) {
        Weight(int layerIndex, WeightLayout layout, LsqWeightQuantizer quantizer) {
            this(layerIndex, FakeQuantWeightNoise.WEIGHT_KEY, layout, quantizer, null);
        }
    }

    private final List<Weight> weights;
    private final List<LsqActivationQuantizer> activations;
    private final int updaterLayer;

    LearnedStepTrainer(List<Weight> weights, List<LsqActivationQuantizer> activations, int updaterLayer) {
        this.weights = List.copyOf(weights);
        this.activations = List.copyOf(activations);
        this.updaterLayer = updaterLayer;
    }

    private List<LearnedParameters> parameters() {
        List<LearnedParameters> all = new ArrayList<>();
        weights.forEach(w -> all.add(w.quantizer()));
        all.addAll(activations);
        return all;
    }

    @Override
    public void onGradientCalculation(Model model) {
        QatNetwork net = QatNetwork.of(model);
        Gradient gradient = model.gradient();
        for (Weight w : weights) {
            INDArray g = gradient.getGradientFor(net.gradientKey(w.layerIndex(), w.paramKey()));
            INDArray weight = net.layer(w.layerIndex()).getParam(w.paramKey());
            if (w.fold() == null) {
                w.quantizer().accumulateGradient(w.layout().outIn(weight), w.layout().outIn(g));
            } else {
                float[] s = w.fold().scale();
                INDArray gOutIn = w.layout().outIn(g);
                INDArray scaledGrad = BnFold.unscaleRows(gOutIn, s);
                w.quantizer().accumulateGradient(BnFold.scaleRows(w.layout().outIn(weight), s), scaledGrad);
                gOutIn.assign(BnFold.scaleRows(scaledGrad, s)); // the clipped STE mask, back in W's domain
            }
        }
        step(net);
    }

    /**
     * One update of every learned parameter from the gradients the quantizers accumulated, each quantizer with its own
     * {@link StepUpdater} (saved with it, so a restored network continues with the same updater state).
     */
    void step(QatNetwork net) {
        IUpdater config = null;
        for (LearnedParameters p : parameters()) {
            int n = p.size();
            if (n == 0) {
                continue;
            }
            float[] values = new float[n];
            float[] grads = new float[n];
            p.read(values, 0);
            p.takeGradient(grads, 0);
            if (config == null) {
                config = ((BaseLayer) net.conf(updaterLayer)).getIUpdater().clone();
            }
            INDArray update = Nd4j.create(grads).divi(Math.max(1, net.model().batchSize()));
            p.stepUpdater().apply(config, update, net.iterationCount(), net.epochCount());
            p.write(Nd4j.create(values).subi(update).toFloatVector(), 0);
        }
    }
}
