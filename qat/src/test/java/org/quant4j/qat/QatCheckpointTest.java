package org.quant4j.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.listeners.CheckpointListener;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.TernaryScale;

/**
 * Prepared networks through DL4J's own {@code ModelSerializer} and {@code CheckpointListener}: the restored network
 * computes the same outputs (quantizer state included), and after {@link Qat#rearm} a few more {@code fit} steps give
 * the same parameters and the same converted codes as continuing the original. {@link Qat#copy} instead of
 * {@code clone()}; clear errors for damaged checkpoints.
 */
class QatCheckpointTest {
    private static final QuantSpec W4 = QuantSpec.integer(4, true, Granularity.perChannel());
    private static final QuantSpec A8 = QuantSpec.integer(8, false, Granularity.perTensor());
    /** Observer: moving-average min-max (the default), STE weights. */
    private static final QatConfig OBSERVED = QatConfig.builder().weights(W4).activations(A8).build();
    /** Histogram observer (state: a histogram). */
    private static final QatConfig PERCENTILE = QatConfig.builder().weights(W4).activations(A8)
            .observer(ObserverKind.PERCENTILE).histogramBins(64).build();
    /** LSQ weights, LSQ+ activations (state: steps, offsets and their Adam moments). */
    private static final QatConfig LSQ = QatConfig.builder()
            .weights(QuantSpec.integer(4, true, Granularity.perChannel())).weightGradient(WeightGradient.LSQ)
            .activations(A8).activationGradient(ActivationGradient.LSQ_PLUS).build();
    private static final int BEFORE = 6;
    private static final int AFTER = 4;

    static MultiLayerConfiguration dense() {
        return new NeuralNetConfiguration.Builder().seed(5).updater(new Adam(1e-2)).weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nIn(8).nOut(16).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(12).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
    }

    /** Layers 64 wide, for the formats with blocks of 32 and 64 (MXFP4, NF4). */
    static MultiLayerConfiguration wide() {
        return new NeuralNetConfiguration.Builder().seed(6).updater(new Adam(1e-2)).weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nIn(64).nOut(64).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
    }

    /** Two small conv -> BN (folded) blocks, one followed by an activation layer, one not (BN output quantized). */
    static MultiLayerConfiguration convBn() {
        return new NeuralNetConfiguration.Builder().seed(7).updater(new Adam(5e-3)).weightInit(WeightInit.XAVIER).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).hasBias(false).activation(Activation.IDENTITY).name("conv1").build())
                .layer(new BatchNormalization.Builder().name("bn1").build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).name("relu1").build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(6).activation(Activation.IDENTITY).name("conv2").build())
                .layer(new BatchNormalization.Builder().name("bn2").build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).name("out").build())
                .setInputType(InputType.convolutional(10, 10, 1)).build();
    }

    /** Two inputs, an LSTM branch (quantized output) and a dense branch. */
    static ComputationGraphConfiguration graph() {
        return new NeuralNetConfiguration.Builder().seed(9).updater(new Adam(1e-2)).weightInit(WeightInit.XAVIER).graphBuilder()
                .addInputs("seq", "x")
                .setInputTypes(InputType.recurrent(4, 5), InputType.feedForward(6))
                .addLayer("lstm", new LSTM.Builder().nOut(8).activation(Activation.TANH).build(), "seq")
                .addVertex("last", new LastTimeStepVertex("seq"), "lstm")
                .addLayer("dx", new DenseLayer.Builder().nOut(10).activation(Activation.RELU).build(), "x")
                .addVertex("merge", new MergeVertex(), "last", "dx")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build(), "merge")
                .setOutputs("out").build();
    }

    static DataSet denseData() {
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.rand(DataType.FLOAT, 48, 8).subi(0.5).muli(3);
        return new DataSet(x, labels(x.getColumn(0).add(x.getColumn(3))));
    }

    static DataSet wideData() {
        Nd4j.getRandom().setSeed(14);
        INDArray x = Nd4j.rand(DataType.FLOAT, 48, 64).subi(0.5).muli(3);
        return new DataSet(x, labels(x.getColumn(0).add(x.getColumn(33))));
    }

    static DataSet imageData() {
        Nd4j.getRandom().setSeed(12);
        INDArray x = Nd4j.rand(DataType.FLOAT, 24, 1, 10, 10);
        return new DataSet(x, labels(x.sum(1, 2, 3).subi(50).divi(3)));
    }

    static MultiDataSet graphData() {
        Nd4j.getRandom().setSeed(13);
        INDArray seq = Nd4j.rand(DataType.FLOAT, 32, 4, 5).subi(0.5);
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 6);
        return new MultiDataSet(new INDArray[] {seq, x}, new INDArray[] {labels(seq.sum(1, 2).add(x.getColumn(2)))});
    }

    /** Three classes by thresholds of one score per example. */
    private static INDArray labels(INDArray score) {
        INDArray y = Nd4j.zeros(DataType.FLOAT, score.length(), 3);
        for (int i = 0; i < score.length(); i++) {
            double s = score.getDouble(i);
            y.putScalar(i, s < -0.3 ? 0 : s < 0.3 ? 1 : 2, 1f);
        }
        return y;
    }

    private static void fit(Model net, Object data, int steps) {
        for (int i = 0; i < steps; i++) {
            if (net instanceof MultiLayerNetwork m) {
                m.fit((DataSet) data);
            } else if (data instanceof MultiDataSet d) {
                ((ComputationGraph) net).fit(d);
            }
        }
    }

    private static double maxDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    /** Same quantized codes and scales, same float tensors (activation grids included). */
    static void assertSameModel(QuantizedModel a, QuantizedModel b) {
        assertThat(b.quantizedTensors().keySet()).isEqualTo(a.quantizedTensors().keySet());
        for (Map.Entry<String, QuantizedTensor> e : a.quantizedTensors().entrySet()) {
            QuantizedTensor other = b.quantizedTensors().get(e.getKey());
            assertThat(other.codes()).as(e.getKey()).isEqualTo(e.getValue().codes());
            assertThat(other.scales().values()).as(e.getKey()).isEqualTo(e.getValue().scales().values());
        }
        assertThat(b.floatTensors().keySet()).isEqualTo(a.floatTensors().keySet());
        for (Map.Entry<String, FloatTensor> e : a.floatTensors().entrySet()) {
            assertThat(b.floatTensors().get(e.getKey()).data()).as(e.getKey()).isEqualTo(e.getValue().data());
        }
    }

    private static MultiLayerNetwork prepared(MultiLayerConfiguration conf, QatConfig config, DataSet data) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Qat.prepare(net, config);
        fit(net, data, BEFORE);
        return net;
    }

    /**
     * Saves {@code net} (with or without updater), restores it with plain ModelSerializer, compares the inference
     * output, re-arms, continues both for {@link #AFTER} steps and compares parameters and converted models.
     */
    private static void roundTripMln(MultiLayerNetwork net, DataSet data, Path dir, boolean inferenceWithoutRearm)
            throws Exception {
        File file = dir.resolve("net.zip").toFile();
        ModelSerializer.writeModel(net, file, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(file, true);
        if (inferenceWithoutRearm) {
            assertThat(maxDiff(restored.output(data.getFeatures(), false), net.output(data.getFeatures(), false)))
                    .isLessThanOrEqualTo(1e-6);
        }
        Qat.rearm(restored);
        assertThat(maxDiff(restored.output(data.getFeatures(), false), net.output(data.getFeatures(), false)))
                .isLessThanOrEqualTo(1e-6);
        assertSameModel(Qat.convert(net), Qat.convert(restored));
        fit(net, data, AFTER);
        fit(restored, data, AFTER);
        assertThat(maxDiff(restored.params(), net.params())).isLessThanOrEqualTo(1e-5);
        assertThat(maxDiff(restored.output(data.getFeatures(), false), net.output(data.getFeatures(), false)))
                .isLessThanOrEqualTo(1e-5);
        assertSameModel(Qat.convert(net), Qat.convert(restored));

        File noUpdater = dir.resolve("net-no-updater.zip").toFile();
        ModelSerializer.writeModel(net, noUpdater, false);
        MultiLayerNetwork inference = Qat.restoreMultiLayerNetwork(noUpdater, false);
        assertThat(maxDiff(inference.output(data.getFeatures(), false), net.output(data.getFeatures(), false)))
                .isLessThanOrEqualTo(1e-6);
    }

    @Test
    void observedMlnRoundTripsAndResumes(@TempDir Path dir) throws Exception {
        DataSet data = denseData();
        roundTripMln(prepared(dense(), OBSERVED, data), data, dir, true);
    }

    @Test
    void percentileObserverKeepsItsHistogram(@TempDir Path dir) throws Exception {
        DataSet data = denseData();
        roundTripMln(prepared(dense(), PERCENTILE, data), data, dir, true);
    }

    /** Every weight format the DL4J path trains (codec fake quantizers, TWN ternary, grouped INT) and the two other observers. */
    static Stream<QatConfig> otherQuantizers() {
        QuantSpec grouped = QuantSpec.builder().bits(3).asymmetric().groupSize(16).build();
        return Stream.of(
                QatConfig.builder().weights(QuantSpec.nf4(false)).activations(A8).observer(ObserverKind.MIN_MAX).build(),
                QatConfig.builder().weights(QuantSpec.fp8E4M3()).activations(A8).observer(ObserverKind.MSE)
                        .histogramBins(64).build(),
                QatConfig.builder().weights(QuantSpec.mxfp4()).build(),
                QatConfig.builder().weights(QuantSpec.ternary()).ternaryScale(TernaryScale.TWN).activations(A8).build(),
                QatConfig.builder().weights(grouped).activations(A8).freezeObserversAfter(BEFORE + 1).build());
    }

    @ParameterizedTest
    @MethodSource("otherQuantizers")
    void otherFormatsAndObserversRoundTripAndResume(QatConfig config, @TempDir Path dir) throws Exception {
        DataSet data = wideData();
        roundTripMln(prepared(wide(), config, data), data, dir, true);
    }

    @Test
    void lsqMlnRoundTripsAndResumesWithItsStepUpdaterState(@TempDir Path dir) throws Exception {
        DataSet data = denseData();
        MultiLayerNetwork net = prepared(dense(), LSQ, data);
        roundTripMln(net, data, dir, true);
    }

    @Test
    void foldedConvBnResumesWithFrozenStatisticsAndBnOutputQuantizer(@TempDir Path dir) throws Exception {
        DataSet data = imageData();
        QatConfig config = QatConfig.builder().weights(QuantSpec.integer(8, true, Granularity.perChannel()))
                .activations(A8).freezeBnStatsAfter(BEFORE + 2).build();
        MultiLayerNetwork net = prepared(convBn(), config, data);
        assertThat(net.getLayer(4)).isInstanceOf(QatBatchNormalization.class);
        assertThat(((QatBatchNormalization) net.getLayer(4)).output()).isNotNull();
        roundTripMln(net, data, dir, false);
    }

    @Test
    void plainRestoreOfFoldedNetworkAsksForRearm(@TempDir Path dir) throws Exception {
        DataSet data = imageData();
        MultiLayerNetwork net = prepared(convBn(), OBSERVED, data);
        File file = dir.resolve("net.zip").toFile();
        ModelSerializer.writeModel(net, file, false);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(file, false);
        assertThatThrownBy(() -> restored.output(data.getFeatures(), false))
                .hasMessageContaining("conv1").hasMessageContaining("Qat.rearm");
        assertThatThrownBy(() -> Qat.convert(restored)).hasMessageContaining("Qat.rearm");
        Qat.prepare(restored, OBSERVED); // the same config re-arms
        assertThat(maxDiff(restored.output(data.getFeatures(), false), net.output(data.getFeatures(), false))).isZero();
        assertThatThrownBy(() -> Qat.prepare(restored, LSQ)).hasMessageContaining("already prepared");
    }

    @Test
    void checkpointListenerCheckpointOfLstmGraphResumes(@TempDir Path dir) throws Exception {
        for (QatConfig config : new QatConfig[] {LSQ, OBSERVED}) {
            MultiDataSet data = graphData();
            ComputationGraph net = new ComputationGraph(graph());
            net.init();
            Qat.prepare(net, config);
            File checkpoints = dir.resolve(config.activationGradient().name()).toFile();
            checkpoints.mkdirs();
            net.addListeners(new CheckpointListener.Builder(checkpoints).saveEveryNIterations(1).keepLast(1).build());
            fit(net, data, BEFORE);
            assertThat(net.getLayer("lstm")).isInstanceOf(QuantizedOutputLstm.class);

            ComputationGraph restored = Qat.rearm(CheckpointListener.loadLastCheckpointCG(checkpoints));
            // DL4J's CheckpointListener saves in iterationDone, before DL4J counts the iteration: the checkpoint holds
            // 6 updates but iteration count 5 (so Adam's bias correction would be one step behind, QAT or not).
            // Resuming at the original's count:
            assertThat(restored.getIterationCount()).isEqualTo(net.getIterationCount() - 1);
            restored.getConfiguration().setIterationCount(net.getIterationCount());
            assertThat(restored.getLayer("lstm")).isInstanceOf(QuantizedOutputLstm.class);
            INDArray[] in = data.getFeatures();
            assertThat(maxDiff(restored.outputSingle(in), net.outputSingle(in))).isLessThanOrEqualTo(1e-6);
            assertSameModel(Qat.convert(net), Qat.convert(restored));
            fit(net, data, AFTER);
            fit(restored, data, AFTER);
            assertThat(maxDiff(restored.params(), net.params())).as(config.toString()).isLessThanOrEqualTo(1e-5);
            assertSameModel(Qat.convert(net), Qat.convert(restored));

            File noUpdater = dir.resolve("graph.zip").toFile();
            ModelSerializer.writeModel(net, noUpdater, false);
            assertThat(maxDiff(Qat.restoreComputationGraph(noUpdater, false).outputSingle(in), net.outputSingle(in)))
                    .isLessThanOrEqualTo(1e-6);
        }
    }

    @Test
    void copyIsIndependentWhereCloneSharesQuantizers() {
        DataSet data = denseData();
        MultiLayerNetwork net = prepared(dense(), LSQ, data);
        MultiLayerNetwork copy = Qat.copy(net);
        INDArray before = copy.output(data.getFeatures(), false);
        assertThat(maxDiff(before, net.output(data.getFeatures(), false))).isLessThanOrEqualTo(1e-6);
        fit(net, data, AFTER);
        assertThat(maxDiff(copy.output(data.getFeatures(), false), before)).isZero();
        assertThat(maxDiff(net.output(data.getFeatures(), false), before)).isGreaterThan(0);
        fit(copy, data, AFTER); // the copy trains its own steps: same result as the original
        assertThat(maxDiff(copy.params(), net.params())).isLessThanOrEqualTo(1e-5);
        // DL4J's clone() shares the activation quantizers (what Qat.copy exists for)
        MultiLayerNetwork clone = net.clone();
        assertThat(((org.deeplearning4j.nn.conf.layers.BaseLayer) clone.getLayer(0).conf().getLayer()).getActivationFn())
                .isSameAs(((org.deeplearning4j.nn.conf.layers.BaseLayer) net.getLayer(0).conf().getLayer()).getActivationFn());
    }

    @Test
    void missingQuantizerStateNamesTheLayer(@TempDir Path dir) throws Exception {
        DataSet data = denseData();
        MultiLayerNetwork net = prepared(dense(), OBSERVED, data);
        String json = net.getLayerWiseConfigurations().toJson();
        assertThat(json).contains("quantizerState");
        String damaged = json.replaceFirst("\"quantizerState\"", "\"removedState\"");
        assertThatThrownBy(() -> MultiLayerConfiguration.fromJson(damaged))
                .satisfies(e -> assertThat(rootMessage(e)).contains("layer 0 (DenseLayer").contains("quantizer state"));
    }

    @Test
    void rearmOfAnEditedFoldNamesTheConvolution() {
        MultiLayerNetwork net = prepared(convBn(), OBSERVED, imageData());
        String json = net.getLayerWiseConfigurations().toJson();
        assertThat(json).contains("\"bnName\" : \"bn1\"");
        MultiLayerNetwork edited = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(
                json.replace("\"bnName\" : \"bn1\"", "\"bnName\" : \"bn9\"")));
        edited.init();
        assertThatThrownBy(() -> Qat.rearm(edited)).hasMessageContaining("layer 0 (ConvolutionLayer 'conv1')")
                .hasMessageContaining("bn9");
        MultiLayerNetwork plain = new MultiLayerNetwork(convBn());
        plain.init();
        assertThatThrownBy(() -> Qat.rearm(plain)).hasMessageContaining("no QAT quantizer");
    }

    @Test
    void earlyStoppingLocalFileModelSaverKeepsTheQuantizers(@TempDir Path dir) throws Exception {
        for (QatConfig config : new QatConfig[] {LSQ}) { // the trainer keeps the LSQ listener (addListeners)
            DataSet data = denseData();
            MultiLayerNetwork net = prepared(dense(), config, data);
            File saves = dir.resolve(config.activationGradient().name()).toFile();
            saves.mkdirs();
            org.deeplearning4j.earlystopping.saver.LocalFileModelSaver saver =
                    new org.deeplearning4j.earlystopping.saver.LocalFileModelSaver(saves);
            org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<DataSet> it =
                    new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(data.asList(), 16);
            org.deeplearning4j.earlystopping.EarlyStoppingConfiguration<MultiLayerNetwork> es =
                    new org.deeplearning4j.earlystopping.EarlyStoppingConfiguration.Builder<MultiLayerNetwork>()
                            .epochTerminationConditions(new org.deeplearning4j.earlystopping.termination.MaxEpochsTerminationCondition(2))
                            .scoreCalculator(new org.deeplearning4j.earlystopping.scorecalc.DataSetLossCalculator(it, true))
                            .modelSaver(saver).saveLastModel(true).build();
            new org.deeplearning4j.earlystopping.trainer.EarlyStoppingTrainer(es, net, it).fit();
            MultiLayerNetwork latest = Qat.rearm(saver.getLatestModel());
            assertThat(maxDiff(latest.output(data.getFeatures(), false), net.output(data.getFeatures(), false)))
                    .as(config.toString()).isLessThanOrEqualTo(1e-6);
            assertSameModel(Qat.convert(net), Qat.convert(latest));
        }
    }

    @Test
    void stateOfForeignClassesIsNotRead() {
        String foreign = QuantizerState.encode(new java.util.ArrayList<>(java.util.List.of(1)));
        assertThatThrownBy(() -> QuantizerState.decode(foreign, ActivationQuantizer.class, "layer 1", "activation quantizer"))
                .isInstanceOf(org.quant4j.core.io.CorruptFileException.class).hasMessageContaining("layer 1")
                .hasMessageContaining("REJECTED");
        assertThatThrownBy(() -> QuantizerState.decode("not base64!", ActivationQuantizer.class, "layer 1", "x"))
                .isInstanceOf(org.quant4j.core.io.CorruptFileException.class);
    }

    private static String rootMessage(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append('\n');
        }
        return all.toString();
    }
}
