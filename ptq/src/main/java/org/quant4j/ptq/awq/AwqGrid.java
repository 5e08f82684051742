package org.quant4j.ptq.awq;

import org.quant4j.ptq.IntTensors;

import java.util.stream.IntStream;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.formats.IntGrid;

/**
 * The quantizer AWQ searches with and stores with (AutoAWQ {@code pseudo_quantize_tensor}): an INT grid
 * per block of {@code g} consecutive columns of a row (a group, or the whole row per channel) fitted to
 * the block's range, optionally clipped to {@code [−m, m]} (AutoAWQ {@code apply_clip}). Blocks are
 * numbered {@code row·(cols/g) + col/g}, as {@link QuantizedTensor} numbers its scales.
 */
final class AwqGrid {
    private final QuantSpec spec;
    private final IntGrid grid;
    private final int rows;
    private final int cols;
    private final int g;

    private AwqGrid(QuantSpec spec, int rows, int cols) {
        this.spec = spec;
        this.grid = IntGrid.of(spec);
        this.rows = rows;
        this.cols = cols;
        this.g = spec.granularity().kind() == Granularity.Kind.GROUP ? spec.granularity().groupSize() : cols;
    }

    /**
     * The grid of an INT spec per channel or per group for a {@code rows × cols} weight.
     *
     * @throws InvalidSpecException   for another format or per-tensor scales (AWQ clips per row and group)
     * @throws InvalidTensorException when the group size does not divide {@code cols}
     */
    static AwqGrid of(String layer, QuantSpec spec, int rows, int cols) {
        if (spec.format() != Format.INT || spec.granularity().kind() == Granularity.Kind.TENSOR) {
            throw new InvalidSpecException("layer '" + layer + "': AWQ quantizes to INT grids per channel or per group, got "
                    + spec + "; use e.g. QuantSpec.builder().bits(4).asymmetric().groupSize(128).build()");
        }
        if (spec.granularity().kind() == Granularity.Kind.GROUP && cols % spec.granularity().groupSize() != 0) {
            throw new InvalidTensorException("layer '" + layer + "': group size " + spec.granularity().groupSize()
                    + " does not divide the " + cols + " input columns");
        }
        return new AwqGrid(spec, rows, cols);
    }

    int groupSize() { return g; }

    int blocks() { return rows * (cols / g); }

    /** Parameters of block {@code b} of {@code w}, its range clipped to {@code [−clip, clip]} (no clip: infinity). */
    IntGrid.Params fit(float[] w, int b, float clip) {
        int offset = b * g;
        float min = 0f;
        float max = 0f;
        for (int i = offset; i < offset + g; i++) {
            min = Math.min(min, w[i]);
            max = Math.max(max, w[i]);
        }
        return grid.fitRange(Math.max(min, -clip), Math.min(max, clip));
    }

    /** {@code Q(W·diag(s))·diag(1/s)}: the weight the model computes with once {@code 1/s} is folded into its input. */
    float[] fakeQuantizeScaled(float[] w, float[] s) {
        float[] out = new float[w.length];
        IntStream.range(0, rows).parallel().forEach(r -> {
            float[] scaled = new float[cols];
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                scaled[c] = w[base + c] * s[c];
            }
            for (int k = 0; k < cols; k += g) {
                IntGrid.Params p = grid.fit(scaled, k, g);
                grid.fakeQuantize(scaled, k, g, p, scaled, k);
            }
            for (int c = 0; c < cols; c++) {
                out[base + c] = scaled[c] / s[c];
            }
        });
        return out;
    }

    /** Fake quantization of the blocks {@code [from, to)} of {@code w}, clipped to {@code clip[b]} (null: none), into {@code out}. */
    void fakeQuantize(float[] w, float[] clip, int from, int to, float[] out) {
        for (int b = from; b < to; b++) {
            IntGrid.Params p = fit(w, b, clip == null ? Float.POSITIVE_INFINITY : clip[b]);
            grid.fakeQuantize(w, b * g, g, p, out, b * g);
        }
    }

    /** Stores {@code w} quantized with the clipped ranges (null: none) as an INT tensor of {@code shape}. */
    QuantizedTensor quantize(float[] w, long[] shape, float[] clip) {
        int blocks = blocks();
        float[] scales = new float[blocks];
        float[] zeros = new float[blocks];
        byte[] codes = new byte[w.length];
        IntStream.range(0, rows).parallel().forEach(r -> {
            for (int b = r * (cols / g); b < (r + 1) * (cols / g); b++) {
                IntGrid.Params p = fit(w, b, clip == null ? Float.POSITIVE_INFINITY : clip[b]);
                scales[b] = p.scale();
                zeros[b] = p.zero();
                grid.codes(w, b * g, g, p.scale(), p.zero(), codes, b * g);
            }
        });
        return IntTensors.assemble(spec, shape, codes, scales, zeros, null);
    }

    /** The largest {@code |w|} of every block. */
    float[] blockAbsMax(float[] w) {
        float[] amax = new float[blocks()];
        for (int b = 0; b < amax.length; b++) {
            float m = 0f;
            for (int i = b * g; i < (b + 1) * g; i++) {
                m = Math.max(m, Math.abs(w[i]));
            }
            amax[b] = m;
        }
        return amax;
    }

    @Override
    public String toString() {
        return "awq-grid(" + spec + ", " + rows + "x" + cols + ", g=" + g + ")";
    }
}
