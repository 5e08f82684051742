package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;

/** NaN injected into a weight, or into the loss through the input, stops training and restores the last checkpoint. */
class DivergenceGuardTest {
    private static final INDArray X = Nd4j.rand(DataType.FLOAT, 8, 1, 6, 6).subi(0.3);
    private static final INDArray Y = Nd4j.eye(3).getRows(0, 1, 2, 0, 1, 2, 0, 1).castTo(DataType.FLOAT);

    /** Puts a NaN into layer 1's weight after iteration {@code at} (once), remembering the parameters after {@code at - 1}. */
    private static final class NanInjector extends BaseTrainingListener {
        private final int at;
        private boolean injected;
        INDArray paramsBefore;

        NanInjector(int at) {
            this.at = at;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            MultiLayerNetwork net = (MultiLayerNetwork) model;
            if (iteration == at - 1) {
                paramsBefore = net.params().dup();
            }
            if (iteration == at && !injected) {
                injected = true;
                net.getLayer(1).getParam("W").putScalar(2, 3, Float.NaN);
            }
        }
    }

    @Test
    void nanWeightStopsWithLayerAndIterationAndRestoresTheCheckpoint() {
        MultiLayerNetwork net = LsqGradientTest.smallNet();
        Qat.prepare(net, QatConfig.builder().weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .activations(QuantSpec.integer(8, false, Granularity.perTensor())).build());
        NanInjector injector = new NanInjector(5);
        DivergenceGuard guard = new DivergenceGuard(1);
        net.addListeners(injector, guard);
        assertThatThrownBy(() -> {
            for (int i = 0; i < 10; i++) {
                net.fit(X, Y);
            }
        }).isInstanceOf(TrainingDivergedException.class)
                .hasMessageContaining("iteration 5").hasMessageContaining("layer 1 (DenseLayer")
                .hasMessageContaining("iteration 4 were restored");
        assertThat(guard.checkpointIteration()).isEqualTo(4);
        assertThat(net.params()).isEqualTo(injector.paramsBefore);
        net.fit(X, Y); // training can go on from the checkpoint
        assertThat(Double.isFinite(net.score())).isTrue();
    }

    @Test
    void nanLossFromTheInputIsReportedAndTheCheckpointKept() {
        MultiLayerNetwork net = LsqGradientTest.smallNet();
        DivergenceGuard guard = new DivergenceGuard(3);
        net.addListeners(guard);
        for (int i = 0; i < 4; i++) {
            net.fit(X, Y);
        }
        INDArray checkpointed = net.params().dup(); // checkpoint at iteration 3, the last one
        INDArray bad = X.dup();
        bad.putScalar(0, 0, 2, 2, Float.NaN);
        assertThatThrownBy(() -> net.fit(bad, Y)).isInstanceOf(TrainingDivergedException.class)
                .hasMessageContaining("iteration 4").hasMessageContaining("the loss is NaN")
                .hasMessageContaining("iteration 3 were restored");
        assertThat(net.params()).isEqualTo(checkpointed);
    }

    @Test
    void nanActivationInAQuantizedLayerNamesTheLayer() {
        MultiLayerNetwork net = LsqGradientTest.smallNet();
        Qat.prepare(net, QatConfig.builder().activations(QuantSpec.integer(8, false, Granularity.perTensor())).build());
        INDArray bad = X.dup();
        bad.putScalar(1, 0, 0, 0, Float.NaN); // tanh(NaN) = NaN reaches the observer
        assertThatThrownBy(() -> net.fit(bad, Y)).isInstanceOf(TrainingDivergedException.class)
                .hasMessageContaining("layer 0 (ConvolutionLayer").hasMessageContaining("NaN or Inf");
    }

    @Test
    void aComputationGraphIsGuardedAlike() {
        ComputationGraph graph = new ComputationGraph(GraphQatTest.twoInputs());
        graph.init();
        Qat.prepare(graph, QatConfig.builder().weights(QuantSpec.integer(4, true, Granularity.perChannel()))
                .activations(QuantSpec.integer(8, false, Granularity.perTensor())).build());
        DivergenceGuard guard = new DivergenceGuard(2);
        graph.addListeners(guard);
        Nd4j.getRandom().setSeed(2);
        INDArray a = Nd4j.rand(DataType.FLOAT, 8, 6);
        INDArray b = Nd4j.rand(DataType.FLOAT, 8, 4);
        for (int i = 0; i < 3; i++) {
            graph.fit(new INDArray[] {a, b}, new INDArray[] {Y});
        }
        INDArray checkpointed = graph.params().dup(); // checkpoint at iteration 2, the last one
        INDArray bad = b.dup();
        bad.putScalar(3, 1, Float.POSITIVE_INFINITY);
        assertThatThrownBy(() -> graph.fit(new INDArray[] {a, bad}, new INDArray[] {Y}))
                .isInstanceOf(TrainingDivergedException.class).hasMessageContaining("iteration 3")
                .hasMessageContaining("iteration 2 were restored");
        assertThat(graph.params()).isEqualTo(checkpointed);
    }
}
