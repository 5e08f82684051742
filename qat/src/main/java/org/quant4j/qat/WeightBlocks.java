package org.quant4j.qat;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;

/**
 * Views a DL4J weight as a {@code [blocks, blockLength]} matrix whose rows share one scale, and back.
 * The quantization convention of {@code core} is PyTorch's: one row per output channel, a group is
 * {@code g} consecutive inputs of one output channel. DL4J stores
 * <ul>
 * <li>Dense / Output {@code W} as {@code [nIn, nOut]}: an output channel is a <em>column</em>, so a
 *     block is {@code g} consecutive rows of one column; read in column-major ('f') order the
 *     column's inputs are consecutive, and {@code W.reshape('f', g, blocks).transpose()} is the block matrix;</li>
 * <li>Convolution {@code W} as {@code [out, in, kh, kw]}: an output channel is a row of the
 *     row-major {@code out × (in·kh·kw)} matrix, and {@code W.reshape('c', blocks, g)} is the block matrix.</li>
 * </ul>
 */
final class WeightBlocks {
    enum Layout { DENSE, CONVOLUTION }

    private final Layout layout;
    private final long[] shape;
    private final long blockLength;
    private final long blocks;

    private WeightBlocks(Layout layout, long[] shape, long blockLength) {
        this.layout = layout;
        this.shape = shape;
        this.blockLength = blockLength;
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        this.blocks = n / blockLength;
    }

    /**
     * @param layerName names the layer in the error raised when the group size does not divide the input width
     */
    static WeightBlocks of(String layerName, Layout layout, long[] shape, Granularity granularity) {
        long outputs = layout == Layout.DENSE ? shape[1] : shape[0];
        long inputs = layout == Layout.DENSE ? shape[0] : shape[1] * shape[2] * shape[3];
        long blockLength = switch (granularity.kind()) {
            case TENSOR -> outputs * inputs;
            case CHANNEL -> inputs;
            case GROUP -> granularity.groupSize();
        };
        if (inputs % blockLength != 0 && granularity.kind() == Granularity.Kind.GROUP) {
            throw new InvalidSpecException(layerName + ": group size " + blockLength
                    + " does not divide the input width " + inputs + " of its weight " + Arrays.toString(shape)
                    + "; choose a group size that divides " + inputs);
        }
        return new WeightBlocks(layout, shape.clone(), blockLength);
    }

    long blockLength() {
        return blockLength;
    }

    long blocks() {
        return blocks;
    }

    /** The block matrix of {@code w} (a view where the layout allows, else a copy). */
    INDArray toBlocks(INDArray w) {
        return layout == Layout.DENSE
                ? w.reshape('f', blockLength, blocks).transpose()
                : w.reshape('c', blocks, blockLength);
    }

    /** The weight of the original shape holding the block matrix {@code q}. */
    INDArray fromBlocks(INDArray q) {
        return layout == Layout.DENSE
                ? q.transpose().reshape('f', shape)
                : q.reshape('c', shape);
    }
}
