package org.quant4j.qat;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;

/**
 * How DL4J stores a layer's weight relative to core's convention (a row-major {@code [out, in]} matrix, one
 * row per output channel, a group is {@code g} consecutive inputs of one row):
 * <ul>
 * <li>Dense / Output {@code W} is {@code [nIn, nOut]}: the {@code [out, in]} matrix is its transpose (a view;
 *     DL4J's column-major weights make it row-major contiguous);</li>
 * <li>Convolution {@code W} is {@code [out, in, kh, kw]}: the {@code [out, in·kh·kw]} matrix is a reshape.</li>
 * </ul>
 */
enum WeightLayout {
    DENSE {
        @Override
        INDArray outIn(INDArray w) {
            return w.transpose();
        }

        @Override
        INDArray toDl4j(INDArray outIn, long[] dl4jShape) {
            return outIn.transpose();
        }

        @Override
        long outputs(long[] dl4jShape) {
            return dl4jShape[1];
        }
    },
    CONVOLUTION {
        @Override
        INDArray outIn(INDArray w) {
            return w.reshape('c', w.size(0), w.length() / w.size(0));
        }

        @Override
        INDArray toDl4j(INDArray outIn, long[] dl4jShape) {
            return outIn.reshape('c', dl4jShape);
        }

        @Override
        long outputs(long[] dl4jShape) {
            return dl4jShape[0];
        }
    };

    /** The {@code [out, in]} matrix of a DL4J weight (a view where possible). */
    abstract INDArray outIn(INDArray w);

    /** The DL4J weight of shape {@code dl4jShape} holding the {@code [out, in]} matrix. */
    abstract INDArray toDl4j(INDArray outIn, long[] dl4jShape);

    /** Output channels of a DL4J weight of this layout. */
    abstract long outputs(long[] dl4jShape);

    /**
     * Checks that a group size divides the input width of the weight.
     *
     * @param layerName names the layer in the error
     * @throws InvalidSpecException if it does not
     */
    void checkGranularity(String layerName, long[] dl4jShape, Granularity granularity) {
        long outputs = outputs(dl4jShape);
        long inputs = Arrays.stream(dl4jShape).reduce(1, (a, b) -> a * b) / outputs;
        if (granularity.kind() == Granularity.Kind.GROUP && inputs % granularity.groupSize() != 0) {
            throw new InvalidSpecException(layerName + ": group size " + granularity.groupSize()
                    + " does not divide the input width " + inputs + " of its weight " + Arrays.toString(dl4jShape)
                    + "; choose a group size that divides " + inputs);
        }
    }
}
