package org.quant4j.qat;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
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
 * the first quantized layer when training starts). Layers of our own would have had to re-implement
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
    private GradientUpdater<?> updater;
    private int size = -1;

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

    /** One update of every learned parameter from the gradients the quantizers accumulated. */
    void step(QatNetwork net) {
        List<LearnedParameters> params = parameters();
        int n = params.stream().mapToInt(LearnedParameters::size).sum();
        float[] values = new float[n];
        float[] grads = new float[n];
        int offset = 0;
        for (LearnedParameters p : params) {
            p.read(values, offset);
            p.takeGradient(grads, offset);
            offset += p.size();
        }
        if (n == 0) {
            return;
        }
        if (n != size) { // first step, or a quantizer initialised since
            IUpdater config = ((BaseLayer) net.conf(updaterLayer)).getIUpdater().clone();
            long stateSize = config.stateSize(n);
            updater = config.instantiate(stateSize == 0 ? null : Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, stateSize), true);
            size = n;
        }
        INDArray update = Nd4j.create(grads).divi(Math.max(1, net.model().batchSize()));
        updater.applyUpdater(update, net.iterationCount(), net.epochCount());
        float[] newValues = Nd4j.create(values).subi(update).toFloatVector();
        offset = 0;
        for (LearnedParameters p : params) {
            p.write(newValues, offset);
            offset += p.size();
        }
    }
}
