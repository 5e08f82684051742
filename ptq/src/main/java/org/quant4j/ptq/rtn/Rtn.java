package org.quant4j.ptq.rtn;

import org.quant4j.ptq.IntTensors;
import org.quant4j.ptq.MinMaxRange;
import org.quant4j.ptq.RangeSearch;
import org.quant4j.ptq.GridSolver;

import java.util.Objects;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.Format;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.formats.IntGrid;

/**
 * Round-to-nearest: every weight goes to its nearest grid point, with no calibration data. For INT
 * specs the grid of each block (tensor, channel or group) comes from a {@link RangeSearch}: its
 * min-max range (then the result is exactly {@link Quantizer#quantize}) or GPTQ's MSE range search.
 * Other formats (NF4, FP8, FP4, ternary) use their codec's own scale rule ({@link Quantizer}), whatever
 * the range search.
 */
public final class Rtn implements GridSolver {
    private final RangeSearch range;

    /** Min-max ranges. */
    public Rtn() {
        this(RangeSearch.minMax());
    }

    public Rtn(RangeSearch range) {
        this.range = Objects.requireNonNull(range, "range");
    }

    /** RTN with GPTQ's MSE range search ({@link RangeSearch#mse()}). */
    public static Rtn mse() {
        return new Rtn(RangeSearch.mse());
    }

    @Override
    public String name() {
        return "rtn";
    }

    @Override
    public boolean needsCalibration() {
        return false;
    }

    @Override
    public QuantizedTensor solve(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        float[] data = w.dup('c').castTo(DataType.FLOAT).data().asFloat();
        long[] shape = w.shape();
        if (spec.format() != Format.INT || range instanceof MinMaxRange) {
            return Quantizer.quantize(layer, data, shape, spec);
        }
        Quantizer.validate(layer, data, shape, spec);
        IntGrid grid = IntGrid.of(spec);
        long rows = shape.length <= 1 ? 1 : shape[0];
        int length = Math.toIntExact(spec.granularity().blockLength(rows, data.length / rows));
        int blocks = data.length / length;
        float[] scales = new float[blocks];
        float[] zeros = new float[blocks];
        byte[] codes = new byte[data.length];
        IntStream.range(0, blocks).parallel().forEach(b -> {
            IntGrid.Params p;
            try {
                p = range.fit(grid, data, b * length, length);
            } catch (InvalidTensorException e) {
                throw new InvalidTensorException("tensor '" + layer + "' (" + spec + "), block " + b + ": "
                        + e.getMessage(), e);
            }
            scales[b] = p.scale();
            zeros[b] = p.zero();
            grid.codes(data, b * length, length, p.scale(), p.zero(), codes, b * length);
        });
        return IntTensors.assemble(spec, shape, codes, scales, zeros, null);
    }

    @Override
    public String toString() {
        return "rtn(" + range + ")";
    }
}
