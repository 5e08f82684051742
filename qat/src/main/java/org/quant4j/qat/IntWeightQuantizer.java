package org.quant4j.qat;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.formats.IntGrid;

/**
 * Round-to-nearest INT fake quantization of weights on core's {@link IntGrid} (the grid the model file
 * stores and PTQ uses: symmetric levels {@code [-2^(b-1), 2^(b-1)-1]} with {@code s = amax / ((2^b-1)/2)},
 * or asymmetric with a zero point; scales rounded up to their encoding). A float32 weight is copied once into
 * a reused {@code float[]} (DL4J's Dense {@code [nIn, nOut]} 'f' and Convolution {@code [out, in, kh, kw]} 'c'
 * weights are both row-major {@code [out, in]} in memory, so every block is contiguous), then each block is
 * fitted ({@link IntGrid#fit}: one min/max pass, in which NaN and infinities propagate and are refused) and
 * quantize-dequantized in place ({@link IntGrid#fakeQuantize(float[], int, int, IntGrid.Params, float[], int)})
 * while it is still in cache, and copied once into a reused output array: core's own loops, hence bit-identical
 * to core. Other data types take the ND4J path of {@link IntFakeQuant}. {@link #quantize} is core's
 * {@link Quantizer}, which fits the same parameters from the same weight.
 */
final class IntWeightQuantizer implements WeightQuantizer {
    private static final long serialVersionUID = 1L;
    private final QuantSpec spec;
    private final IntGrid grid;
    /** The output of the last call, reused while the weight keeps its shape (not thread safe, like a DL4J layer). */
    private transient INDArray out;
    /** Scratch for the fused float32 path. */
    private transient float[] values;

    IntWeightQuantizer(QuantSpec spec) {
        this.spec = spec;
        this.grid = IntGrid.of(spec);
    }

    @Override
    public INDArray fakeQuantize(INDArray outIn) {
        if (outIn.dataType() == DataType.FLOAT) {
            return fused(RawFloats.dense(outIn, 'c') ? outIn : outIn.dup('c'));
        }
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

    /** The float32 path on a dense row-major {@code [out, in]} matrix. */
    private INDArray fused(INDArray outIn) {
        int n = (int) outIn.length();
        int length = switch (spec.granularity().kind()) {
            case TENSOR -> n;
            case CHANNEL -> n / (int) outIn.size(0);
            case GROUP -> spec.granularity().groupSize();
        };
        values = RawFloats.capacity(values, n);
        RawFloats.read(outIn, values);
        for (int from = 0; from < n; from += length) {
            IntGrid.Params p = grid.fit(values, from, length); // NaN/Inf reach min or max: fitRange refuses them
            grid.fakeQuantize(values, from, length, p, values, from);
        }
        if (out == null || out.dataType() != DataType.FLOAT || out.ordering() != 'c'
                || !java.util.Arrays.equals(out.shape(), outIn.shape())) {
            out = Nd4j.create(DataType.FLOAT, outIn.shape(), 'c');
        }
        RawFloats.write(values, out);
        return out;
    }

    @Override
    public boolean refusesNonFinite() {
        return true;
    }

    @Override
    public QuantizedTensor quantize(String name, INDArray weight) {
        return Quantizer.quantize(name, weight, spec);
    }
}
