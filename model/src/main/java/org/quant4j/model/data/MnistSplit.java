package org.quant4j.model.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One part (train or test) of {@link MnistDigits}: {@code size()} images of 28×28 pixels in 0..1,
 * stored row-major in one {@code float[]} (image {@code i} is {@code pixels[i*784 .. i*784+783]}),
 * and their digit labels 0..9.
 */
public final class MnistSplit {
    private final float[] pixels;
    private final int[] labels;

    MnistSplit(float[] pixels, int[] labels) {
        this.pixels = pixels;
        this.labels = labels;
    }

    public int size() {
        return labels.length;
    }

    /** A copy of the pixels, {@code size() * 784} values, image after image. */
    public float[] pixels() {
        return pixels.clone();
    }

    /** A copy of the labels (0..9). */
    public int[] labels() {
        return labels.clone();
    }

    /** The images as a {@code [size, 784]} FLOAT array (one flattened image per row). */
    public INDArray features() {
        return Nd4j.create(pixels.clone(), new long[] {size(), MnistDigits.PIXELS}, 'c');
    }

    /** One-hot labels, {@code [size, 10]} FLOAT. */
    public INDArray oneHotLabels() {
        float[] oneHot = new float[size() * MnistDigits.CLASSES];
        for (int i = 0; i < labels.length; i++) {
            oneHot[i * MnistDigits.CLASSES + labels[i]] = 1f;
        }
        return Nd4j.create(oneHot, new long[] {size(), MnistDigits.CLASSES}, 'c').castTo(DataType.FLOAT);
    }

    /** Batches in the stored order (for evaluation). Features are flat {@code [batch, 784]}. */
    public DataSetIterator iterator(int batchSize) {
        return new ArrayDataSetIterator(features(), oneHotLabels(), batchSize, null);
    }

    /** Batches in a new seeded order every epoch (for training). Features are flat {@code [batch, 784]}. */
    public DataSetIterator shuffledIterator(int batchSize, long seed) {
        return new ArrayDataSetIterator(features(), oneHotLabels(), batchSize, seed);
    }
}
