package org.quant4j.calibration;

import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizationException;
import org.quant4j.model.WeightTarget;

/**
 * Feeds calibration data through a DL4J network and captures the inputs of one target layer into a
 * {@link LayerStats}, one batch at a time: memory is one batch's activations plus the statistics, whatever the
 * size of the calibration set. The network runs in inference mode with its current weights, so once the PTQ
 * pipeline has written a quantized layer back, later targets are calibrated on its quantized output.
 *
 * <p>The rows captured are the rows the target's {@code [out, in]} weight multiplies:
 * <ul>
 *   <li>Dense and Output layers: the layer's input {@code [batch, nIn]} (after its input preprocessor);</li>
 *   <li>2-D convolutions: the im2col patches of the layer's input, one row of {@code nIn·kh·kw} values per
 *       output position, in the column order of the {@code [out, in, kh, kw]} weight flattened in c order (see
 *       {@link ConvPatches}); a batch is cut into chunks of images of at most {@link #MAX_CHUNK_FLOATS} patch
 *       values each.</li>
 * </ul>
 * Errors name the target: an empty calibration set, data of the wrong width (the network cannot run it, or the
 * rows do not have the layer's width), NaN or infinite activations ({@link LayerStats}).
 */
public final class CalibrationRunner {
    /** The most patch values (floats) a convolution chunk holds: 64 MiB. */
    public static final int MAX_CHUNK_FLOATS = 1 << 24;

    /** Told after each calibration batch: batches done and rows accumulated so far. */
    @FunctionalInterface
    public interface BatchListener {
        BatchListener NONE = (batches, rows) -> { };

        void batchDone(int batches, long rows);
    }

    private final LayerInputSource source;
    private final int maxChunkFloats;

    private CalibrationRunner(LayerInputSource source, int maxChunkFloats) {
        this.source = source;
        this.maxChunkFloats = maxChunkFloats;
    }

    /** The same runner with convolution chunks of at most {@code floats} patch values (at least one image each). */
    CalibrationRunner withMaxChunkFloats(int floats) {
        return new CalibrationRunner(source, floats);
    }

    public static CalibrationRunner of(MultiLayerNetwork net) {
        return new CalibrationRunner(new MultiLayerInputs(Objects.requireNonNull(net, "net")), MAX_CHUNK_FLOATS);
    }

    /** @throws QuantizationException if the graph has more than one input array */
    public static CalibrationRunner of(ComputationGraph graph) {
        return new CalibrationRunner(new GraphInputs(Objects.requireNonNull(graph, "graph")), MAX_CHUNK_FLOATS);
    }

    /**
     * Whether this runner can capture the inputs of {@code target}: the {@code W} of a Dense, Output, RnnOutput or
     * Convolution layer.
     */
    public boolean supports(WeightTarget target) {
        return target.paramKey().equals("W") && (source.layerConf(target) instanceof ConvolutionLayer
                || target.layerType().equals("DenseLayer") || target.layerType().equals("OutputLayer")
                || target.layerType().equals("RnnOutputLayer"));
    }

    /** Columns of the target's rows: {@code nIn}, or {@code nIn·kh·kw} for a convolution. */
    public int inputWidth(WeightTarget target) {
        requireSupported(target);
        if (source.layerConf(target) instanceof ConvolutionLayer conv) {
            return new ConvPatches(target.name(), conv).width();
        }
        return Math.toIntExact(((FeedForwardLayer) source.layerConf(target)).getNIn());
    }

    /** The rows {@code [rows, inputWidth]} that the target's weight multiplies for one batch of network inputs. */
    public INDArray layerRows(WeightTarget target, INDArray features) {
        requireSupported(target);
        INDArray input = layerInput(target, features);
        if (source.layerConf(target) instanceof ConvolutionLayer conv) {
            return new ConvPatches(target.name(), conv).rows(input, 0, (int) input.size(0));
        }
        if (source.layerConf(target) instanceof RnnOutputLayer rnn) {
            return timeStepRows(input, rnn.getRnnDataFormat());
        }
        return input;
    }

    /** {@link #collect(WeightTarget, DataSetIterator, int, long, BatchListener)} with a 512-row reservoir, seed 0. */
    public LayerStats collect(WeightTarget target, DataSetIterator data) {
        return collect(target, data, LayerStats.DEFAULT_RESERVOIR_ROWS, 0L, BatchListener.NONE);
    }

    /**
     * Passes over {@code data} once (resetting it first when it supports reset) and returns the target's statistics.
     *
     * @param reservoirRows input rows the statistics keep for measuring output error
     * @param seed          seed of the reservoir
     * @throws InvalidTensorException naming the target for an empty (or exhausted, non-resettable) iterator, data
     *                                the network cannot run or of the wrong width, NaN or infinite activations
     */
    public LayerStats collect(WeightTarget target, DataSetIterator data, int reservoirRows, long seed,
                              BatchListener listener) {
        requireSupported(target);
        LayerStats stats = new LayerStats(target.name(), inputWidth(target), reservoirRows, seed);
        eachBatch(data, batch -> accumulate(target, batch, stats), listener, stats::rowCount);
        requireRows(target, stats.rowCount(), emptyIterator(data));
        return stats;
    }

    /** As {@link #collect(WeightTarget, DataSetIterator, int, long, BatchListener)} over the rows of {@code features}. */
    public LayerStats collect(WeightTarget target, INDArray features, int batchSize, int reservoirRows, long seed,
                              BatchListener listener) {
        requireSupported(target);
        LayerStats stats = new LayerStats(target.name(), inputWidth(target), reservoirRows, seed);
        eachBatch(features, batchSize, batch -> accumulate(target, batch, stats), listener, stats::rowCount);
        requireRows(target, stats.rowCount(), emptyArray(features));
        return stats;
    }

    /**
     * Passes over {@code data} once (resetting it first when it supports reset) and hands {@code sink} the target's
     * rows ({@code [rows, inputWidth]}, as {@link #collect} accumulates them: a convolution's patches in chunks of
     * images); the sink must not keep them.
     *
     * @return the rows handed over
     * @throws InvalidTensorException naming the target as {@link #collect} does
     */
    public long forEachRows(WeightTarget target, DataSetIterator data, Consumer<INDArray> sink) {
        requireSupported(target);
        RowCount rows = new RowCount(sink);
        eachBatch(data, batch -> rows(target, batch, rows), BatchListener.NONE, () -> rows.count);
        requireRows(target, rows.count, emptyIterator(data));
        return rows.count;
    }

    /** As {@link #forEachRows(WeightTarget, DataSetIterator, Consumer)} over the rows of {@code features}. */
    public long forEachRows(WeightTarget target, INDArray features, int batchSize, Consumer<INDArray> sink) {
        requireSupported(target);
        RowCount rows = new RowCount(sink);
        eachBatch(features, batchSize, batch -> rows(target, batch, rows), BatchListener.NONE, () -> rows.count);
        requireRows(target, rows.count, emptyArray(features));
        return rows.count;
    }

    /** A sink that counts the rows it passes on. */
    private static final class RowCount implements Consumer<INDArray> {
        private final Consumer<INDArray> sink;
        private long count;

        RowCount(Consumer<INDArray> sink) {
            this.sink = Objects.requireNonNull(sink, "sink");
        }

        @Override
        public void accept(INDArray rows) {
            sink.accept(rows);
            count += rows.size(0);
        }
    }

    static void eachBatch(DataSetIterator data, Consumer<INDArray> batch, BatchListener listener,
                                  LongSupplier rows) {
        if (data.resetSupported()) {
            data.reset();
        }
        int batches = 0;
        while (data.hasNext()) {
            batch.accept(data.next().getFeatures());
            listener.batchDone(++batches, rows.getAsLong());
        }
    }

    static void eachBatch(INDArray features, int batchSize, Consumer<INDArray> batch, BatchListener listener,
                                  LongSupplier rows) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        long n = features.rank() == 0 ? 0 : features.size(0);
        int batches = 0;
        for (long from = 0; from < n; from += batchSize) {
            long to = Math.min(n, from + batchSize);
            batch.accept(features.get(NDArrayIndex.interval(from, to)).dup());
            listener.batchDone(++batches, rows.getAsLong());
        }
    }

    private static String emptyIterator(DataSetIterator data) {
        return data.resetSupported() ? "the iterator gave no examples"
                : "the iterator gave no examples (it cannot be reset, so a used iterator is empty)";
    }

    private static String emptyArray(INDArray features) {
        return "there are no input rows (shape " + Arrays.toString(features.shape()) + ")";
    }

    private void accumulate(WeightTarget target, INDArray features, LayerStats stats) {
        rows(target, features, rows -> stats.accumulate(target.name(), rows));
    }

    /** The target's rows of one batch of network inputs, a convolution's in chunks of at most {@code maxChunkFloats}. */
    private void rows(WeightTarget target, INDArray features, Consumer<INDArray> sink) {
        rowsOfInput(target, layerInput(target, features), sink);
    }

    /**
     * Hands {@code sink} the target's rows for one batch of its layer's input ({@code input}: as the layer sees it,
     * after its preprocessor), a convolution's patches in chunks of images; for a pass that carries layer inputs
     * forward itself instead of running the network from its input per target.
     *
     * @return the rows handed over
     */
    long forEachRowsOfLayerInput(WeightTarget target, INDArray input, Consumer<INDArray> sink) {
        requireSupported(target);
        RowCount rows = new RowCount(sink);
        rowsOfInput(target, input, rows);
        return rows.count;
    }

    private void rowsOfInput(WeightTarget target, INDArray input, Consumer<INDArray> sink) {
        if (source.layerConf(target) instanceof RnnOutputLayer rnn) {
            sink.accept(timeStepRows(input, rnn.getRnnDataFormat()));
            return;
        }
        if (!(source.layerConf(target) instanceof ConvolutionLayer conv)) {
            sink.accept(input);
            return;
        }
        ConvPatches patches = new ConvPatches(target.name(), conv);
        int images = (int) input.size(0);
        long perImage = (long) patches.positions(input) * patches.width();
        int chunk = (int) Math.max(1, Math.min(images, maxChunkFloats / Math.max(1, perImage)));
        for (int from = 0; from < images; from += chunk) {
            sink.accept(patches.rows(input, from, Math.min(images, from + chunk)));
        }
    }

    /**
     * An RnnOutputLayer applies its weight to every time step: its rows are the {@code [batch·steps, nIn]} time steps
     * of its {@code [batch, nIn, steps]} (NCW) or {@code [batch, steps, nIn]} (NWC) input.
     */
    private static INDArray timeStepRows(INDArray input, RNNFormat format) {
        INDArray nwc = format == RNNFormat.NCW ? input.permute(0, 2, 1) : input;
        return nwc.dup('c').reshape('c', nwc.size(0) * nwc.size(1), nwc.size(2));
    }

    /** The layer's input, with the network's own failures (shape mismatches) reported against the target. */
    private INDArray layerInput(WeightTarget target, INDArray features) {
        try {
            return source.layerInput(target, features);
        } catch (QuantizationException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InvalidTensorException("layer '" + target.name() + "': the network cannot compute this layer's "
                    + "input from a calibration batch of shape " + Arrays.toString(features.shape())
                    + " (is the calibration data shaped as the network's input?): " + firstLine(e.getMessage()), e);
        }
    }

    private void requireSupported(WeightTarget target) {
        if (!supports(target)) {
            throw new QuantizationException("layer '" + target.name() + "' (" + target.layerType() + "): calibration "
                    + "captures the inputs of Dense, Output, RnnOutput and 2-D Convolution weights (W) only; quantize it with a "
                    + "calibration-free solver (rtn, hqq)");
        }
    }

    static void requireRows(WeightTarget target, long rows, String why) {
        if (rows == 0) {
            throw new InvalidTensorException("layer '" + target.name() + "': the calibration set is empty: " + why
                    + "; give at least one calibration example");
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
