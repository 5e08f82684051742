package org.quant4j.qat;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.formats.IntGrid;

/**
 * Round-to-nearest INT fake quantization of weights on core's {@link IntGrid} (the grid the model file
 * stores and PTQ uses: symmetric levels {@code [-2^(b-1), 2^(b-1)-1]} with {@code s = amax / ((2^b-1)/2)},
 * or asymmetric with a zero point; scales rounded up to their encoding). The per-block minima and maxima
 * are two ND4J reductions, the parameters come from {@link IntGrid#fitRange} (the same call core's
 * {@code IntCodec} makes, min and max being exact), and {@link IntFakeQuant} applies them to the whole
 * tensor, writing into one reused array. {@link #quantize} is core's {@link Quantizer}, which fits the same parameters from the same weight.
 */
final class IntWeightQuantizer implements WeightQuantizer {
    private final QuantSpec spec;
    private final IntGrid grid;
    /** The output of the last call, reused while the weight keeps its shape (not thread safe, like a DL4J layer). */
    private INDArray out;

    IntWeightQuantizer(QuantSpec spec) {
        this.spec = spec;
        this.grid = IntGrid.of(spec);
    }

    @Override
    public INDArray fakeQuantize(INDArray outIn) {
        INDArray blocks = Blocks.of(outIn, spec.granularity());
        float[] mins = blocks.min(1).castTo(DataType.FLOAT).toFloatVector();
        float[] maxs = blocks.max(1).castTo(DataType.FLOAT).toFloatVector();
        float[] scales = new float[mins.length];
        float[] zeros = new float[mins.length];
        for (int b = 0; b < mins.length; b++) {
            IntGrid.Params p = grid.fitRange(Math.min(mins[b], 0f), Math.max(maxs[b], 0f));
            scales[b] = p.scale();
            zeros[b] = p.zero();
        }
        if (out == null || !java.util.Arrays.equals(out.shape(), blocks.shape())) {
            out = blocks.ulike();
        }
        return IntFakeQuant.applyInto(blocks, out, grid, scales, zeros).reshape('c', outIn.shape());
    }

    @Override
    public QuantizedTensor quantize(String name, INDArray weight) {
        return Quantizer.quantize(name, weight, spec);
    }
}
