package org.quant4j.qat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.io.CorruptFileException;

/**
 * The runtime half of a prepared network, rebuilt from its configuration half. {@link Qat#prepare} puts everything
 * with state into the layer configurations (fake-quant activations and weight noise, which also carry the output
 * quantizers of LSTMs and folded BatchNormalizations), which DL4J's JSON, hence {@code ModelSerializer} and its
 * {@code CheckpointListener}, saves. What the JSON cannot carry is made here, both right after preparation and after
 * a restore: the layer implementations {@link QatBatchNormalization} (linked to its convolution's {@link BnFold}) and
 * {@link QuantizedOutputLstm}, and the {@link LearnedStepTrainer} listener when a quantizer learns its step. Idempotent.
 */
final class QatArming {
    private QatArming() {}

    /** True if some layer configuration holds a QAT quantizer. */
    static boolean isPrepared(QatNetwork net) {
        return config(net) != null;
    }

    /** The {@link QatConfig} of the network's quantizers, or null if it holds none. */
    static QatConfig config(QatNetwork net) {
        for (int i = 0; i < net.size(); i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.conf(i);
            if (conf instanceof BaseLayer b) {
                IWeightNoise noise = b.getWeightNoise();
                if (noise instanceof FakeQuantWeightNoise f) {
                    return f.config();
                }
                if (noise instanceof FoldedConvWeightNoise f) {
                    return f.inner().config();
                }
                if (noise instanceof LstmWeightNoise l && l.forKey(FakeQuantWeightNoise.WEIGHT_KEY) != null) {
                    return l.forKey(FakeQuantWeightNoise.WEIGHT_KEY).config();
                }
            }
            if (activation(conf) != null) {
                return activation(conf).config();
            }
        }
        return null;
    }

    private static FakeQuantActivation activation(org.deeplearning4j.nn.conf.layers.Layer conf) {
        if (conf instanceof BaseLayer b && b.getActivationFn() instanceof FakeQuantActivation a) {
            return a;
        }
        if (conf instanceof ActivationLayer l && l.getActivationFn() instanceof FakeQuantActivation a) {
            return a;
        }
        return null;
    }

    /**
     * Throws if a layer implementation is missing (the listener is not needed to run the network).
     *
     * @param operation what needs it, for the message
     */
    static void requireArmed(QatNetwork net, String operation) {
        List<String> missing = plan(net).missing;
        if (!missing.isEmpty()) {
            throw new QuantizationException(operation + " needs the network's QAT layer implementations"
                    + ", which ModelSerializer does not restore (" + String.join(", ", missing)
                    + "); re-arm it with Qat.rearm(net), or restore it with Qat.restoreMultiLayerNetwork / "
                    + "Qat.restoreComputationGraph");
        }
    }

    /** Replaces the layer implementations and adds the listener where they are missing. */
    static void arm(QatNetwork net) {
        QatConfig config = config(net);
        for (int i = 0; i < net.size(); i++) {
            if (!(net.conf(i) instanceof BaseLayer b)) {
                continue;
            }
            if (b.getWeightNoise() instanceof FoldedConvWeightNoise f) {
                int bn = foldedBn(net, i, f);
                if (!(net.layer(bn) instanceof QatBatchNormalization)) {
                    OutputQuantization output = f.bnOutput() == null ? null
                            : new OutputQuantization(net.describe(bn), f.bnOutput());
                    net.replace(bn, new QatBatchNormalization(net.layer(bn).conf(), net.layer(bn).params().dataType(),
                            config.freezeBnStatsAfter(), ((ConvolutionLayer) b).hasBias(), output));
                }
                if (!f.linked() || f.fold().layer() != net.layer(bn)) {
                    f.link(new BnFold(net.name(bn), net.layer(bn)));
                }
            } else if (b.getWeightNoise() instanceof LstmWeightNoise l && l.output() != null
                    && !(net.layer(i) instanceof QuantizedOutputLstm)) {
                if (b.getClass() != LSTM.class) {
                    throw new CorruptFileException(net.describe(i) + " carries an LSTM output quantizer but is not an LSTM");
                }
                net.replace(i, new QuantizedOutputLstm(net.layer(i).conf(),
                        net.layer(i).getParam(FakeQuantWeightNoise.WEIGHT_KEY).dataType(),
                        new OutputQuantization(net.describe(i), l.output())));
            }
        }
        Plan plan = plan(net);
        if (plan.learnsSteps() && !hasTrainer(net)) {
            net.addListener(new LearnedStepTrainer(plan.weights, plan.activations, plan.updaterLayer));
        }
    }

    /** The BN layer a folded convolution's noise names: its only consumer. */
    private static int foldedBn(QatNetwork net, int conv, FoldedConvWeightNoise f) {
        int bn = net.soleLayerConsumer(conv);
        if (bn < 0 || !(net.conf(bn) instanceof BatchNormalization) || !net.name(bn).equals(f.bnName())
                || net.conf(conv).getClass() != ConvolutionLayer.class) {
            throw new CorruptFileException(net.describe(conv) + " folds BatchNormalization '" + f.bnName()
                    + "', but " + (bn < 0 ? "its output does not go to one layer only" : "the layer after it is "
                    + net.describe(bn)) + ": the configuration was changed after Qat.prepare");
        }
        return bn;
    }

    private static boolean hasTrainer(QatNetwork net) {
        Collection<TrainingListener> listeners = net.model() instanceof MultiLayerNetwork m ? m.getListeners()
                : ((ComputationGraph) net.model()).getListeners();
        return listeners != null && listeners.stream().anyMatch(l -> l instanceof LearnedStepTrainer);
    }

    /** What {@link #arm} would attach, and what is missing. */
    private static Plan plan(QatNetwork net) {
        Plan p = new Plan();
        for (int i = 0; i < net.size(); i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.conf(i);
            FakeQuantActivation act = activation(conf);
            if (act != null) {
                p.activation(act.quantizer());
            }
            if (!(conf instanceof BaseLayer b)) {
                continue;
            }
            if (act != null) {
                p.useUpdaterOf(i);
            }
            IWeightNoise noise = b.getWeightNoise();
            if (noise instanceof FakeQuantWeightNoise f) {
                p.weight(i, FakeQuantWeightNoise.WEIGHT_KEY, f, null);
            } else if (noise instanceof LstmWeightNoise l) {
                p.weight(i, FakeQuantWeightNoise.WEIGHT_KEY, l.forKey(FakeQuantWeightNoise.WEIGHT_KEY), null);
                p.weight(i, LstmWeightNoise.RECURRENT_KEY, l.forKey(LstmWeightNoise.RECURRENT_KEY), null);
                if (l.output() != null) {
                    p.useUpdaterOf(i);
                    p.activation(l.output());
                    if (!(net.layer(i) instanceof QuantizedOutputLstm)) {
                        p.missing.add(net.describe(i) + " is not a QuantizedOutputLstm");
                    }
                }
            } else if (noise instanceof FoldedConvWeightNoise f) {
                int bn = net.soleLayerConsumer(i);
                boolean armed = f.linked() && bn >= 0 && net.layer(bn) instanceof QatBatchNormalization
                        && f.fold().layer() == net.layer(bn);
                if (!armed) {
                    p.missing.add(net.describe(i) + " has no linked QatBatchNormalization");
                }
                p.weight(i, FakeQuantWeightNoise.WEIGHT_KEY, f.inner(), armed ? f.fold() : null);
                if (f.bnOutput() != null) {
                    p.activation(f.bnOutput());
                }
            }
        }
        return p;
    }

    private static final class Plan {
        final List<LearnedStepTrainer.Weight> weights = new ArrayList<>();
        final List<LsqActivationQuantizer> activations = new ArrayList<>();
        final List<String> missing = new ArrayList<>();
        int updaterLayer = -1;

        boolean learnsSteps() {
            return !weights.isEmpty() || !activations.isEmpty();
        }

        void useUpdaterOf(int i) {
            updaterLayer = updaterLayer < 0 ? i : updaterLayer;
        }

        void weight(int i, String key, FakeQuantWeightNoise noise, BnFold fold) {
            if (noise == null) {
                return;
            }
            useUpdaterOf(i);
            if (noise.quantizer() instanceof LsqWeightQuantizer lsq) {
                weights.add(new LearnedStepTrainer.Weight(i, key, noise.layout(), lsq, fold));
            }
        }

        void activation(ActivationQuantizer q) {
            if (q instanceof LsqActivationQuantizer lsq) {
                activations.add(lsq);
            }
        }
    }
}
