package org.quant4j.model.data;

import java.util.List;
import java.util.NoSuchElementException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Mini-batches over in-memory {@code features [n, f]} and {@code labels [n, c]}. The last batch may be
 * smaller. With a shuffle seed, every epoch visits the examples in a new order: epoch {@code k}
 * (counted by {@link #reset()}) uses a Fisher–Yates permutation drawn from {@code new Random(seed + k)},
 * so a run is reproducible; without one, the order is the stored order.
 */
public final class ArrayDataSetIterator implements DataSetIterator {
    private static final long serialVersionUID = 1L;

    private final INDArray features;
    private final INDArray labels;
    private final int batchSize;
    private final Long shuffleSeed;
    private final int numExamples;
    private int[] order;
    private int epoch;
    private int cursor;
    private DataSetPreProcessor preProcessor;

    /**
     * @param shuffleSeed null for the stored order, else the seed of the per-epoch permutations
     */
    public ArrayDataSetIterator(INDArray features, INDArray labels, int batchSize, Long shuffleSeed) {
        if (features.rank() != 2 || labels.rank() != 2 || features.rows() != labels.rows()) {
            throw new IllegalArgumentException("features [n, f] and labels [n, c] with the same n expected, got "
                    + java.util.Arrays.toString(features.shape()) + " and " + java.util.Arrays.toString(labels.shape()));
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        this.features = features;
        this.labels = labels;
        this.batchSize = batchSize;
        this.shuffleSeed = shuffleSeed;
        this.numExamples = (int) features.rows();
        startEpoch();
    }

    private void startEpoch() {
        cursor = 0;
        if (shuffleSeed == null) {
            order = null;
            return;
        }
        order = Permutation.of(numExamples, shuffleSeed + epoch);
    }

    @Override
    public boolean hasNext() {
        return cursor < numExamples;
    }

    @Override
    public DataSet next() {
        return next(batchSize);
    }

    @Override
    public DataSet next(int num) {
        if (!hasNext()) {
            throw new NoSuchElementException("epoch finished after " + numExamples + " examples; call reset()");
        }
        int end = Math.min(numExamples, cursor + num);
        DataSet batch;
        if (order == null) {
            batch = new DataSet(features.get(NDArrayIndex.interval(cursor, end), NDArrayIndex.all()).dup(),
                    labels.get(NDArrayIndex.interval(cursor, end), NDArrayIndex.all()).dup());
        } else {
            int[] rows = java.util.Arrays.copyOfRange(order, cursor, end);
            batch = new DataSet(features.getRows(rows), labels.getRows(rows));
        }
        cursor = end;
        if (preProcessor != null) {
            preProcessor.preProcess(batch);
        }
        return batch;
    }

    @Override
    public int inputColumns() {
        return (int) features.columns();
    }

    @Override
    public int totalOutcomes() {
        return (int) labels.columns();
    }

    @Override
    public boolean resetSupported() {
        return true;
    }

    @Override
    public boolean asyncSupported() {
        return false;
    }

    @Override
    public void reset() {
        epoch++;
        startEpoch();
    }

    @Override
    public int batch() {
        return batchSize;
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        this.preProcessor = preProcessor;
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return preProcessor;
    }

    @Override
    public List<String> getLabels() {
        return null;
    }
}
