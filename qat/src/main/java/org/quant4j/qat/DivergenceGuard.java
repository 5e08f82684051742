package org.quant4j.qat;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Stops training at the first NaN or Inf in the loss or the parameters and puts the last good checkpoint
 * back. Every {@code every} iterations (and at the first) it copies the network's parameters and updater
 * state; after each iteration it checks the loss and every layer's parameters (one sum each: NaN and Inf
 * survive a sum), and on a non-finite value restores the copy and throws a {@link TrainingDivergedException}
 * naming the iteration, the first bad layer (or the loss) and the checkpoint's iteration. Add it with
 * {@code net.addListeners(new DivergenceGuard(n))} to a MultiLayerNetwork or a ComputationGraph.
 */
public final class DivergenceGuard extends BaseTrainingListener {
    private final int every;
    private INDArray params;
    private INDArray updaterState;
    private int checkpointIteration = -1;

    /** @param every iterations between checkpoints, at least 1 */
    public DivergenceGuard(int every) {
        if (every < 1) {
            throw new IllegalArgumentException("checkpoint interval must be >= 1, got " + every);
        }
        this.every = every;
    }

    /** Iteration of the last good checkpoint, or -1 before the first. */
    public int checkpointIteration() {
        return checkpointIteration;
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        double score = model.score();
        QatNetwork net = QatNetwork.of(model);
        String badLayer = firstNonFiniteLayer(net);
        if (badLayer != null || !Double.isFinite(score)) {
            String restored = restore(net);
            throw new TrainingDivergedException("iteration " + iteration + " (epoch " + epoch + "): "
                    + (badLayer != null ? badLayer + " holds NaN or Inf parameters" : "")
                    + (badLayer != null && !Double.isFinite(score) ? ", " : "")
                    + (!Double.isFinite(score) ? "the loss is " + score : "") + "; " + restored
                    + ". Lower the learning rate or check the input data");
        }
        if (checkpointIteration < 0 || iteration - checkpointIteration >= every) {
            params = model.params().dup();
            INDArray state = net.updaterState();
            updaterState = state == null ? null : state.dup();
            checkpointIteration = iteration;
        }
    }

    private String restore(QatNetwork net) {
        if (params == null) {
            return "no checkpoint was taken yet, so the parameters were left as they are";
        }
        net.model().setParams(params.dup());
        if (updaterState != null) {
            net.updaterState().assign(updaterState);
        }
        return "the parameters and updater state of iteration " + checkpointIteration + " were restored";
    }

    private static String firstNonFiniteLayer(QatNetwork net) {
        for (int i = 0; i < net.size(); i++) {
            INDArray p = net.layer(i).params();
            if (p != null && p.length() > 0 && !Double.isFinite(p.sumNumber().doubleValue())) {
                return net.describe(i);
            }
        }
        return null;
    }
}
