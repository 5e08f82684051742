package org.quant4j.ptq.hqq;

import org.quant4j.ptq.GridSolver;

import java.util.Objects;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.ptq.hqq.HqqOptimizer;
import org.quant4j.ptq.WeightSolver;
import org.quant4j.model.StoredWeight;
import org.quant4j.core.NumberEncoding;
import org.quant4j.ptq.hqq.HqqParams;
import org.quant4j.ptq.hqq.HqqResult;

/**
 * HQQ, Half-Quadratic Quantization (Badri &amp; Shaji 2023): calibration-free; per block, the scale
 * from min-max and the zero point optimised by a proximal solver for the lp-norm (p = 0.7) of the
 * weight error ({@link HqqOptimizer}, which documents the algorithm, its defaults and the mapping of
 * the reference's axis to our groups). This class checks the layer, runs the optimizer and stores its
 * result as an INT {@link QuantizedTensor} whose {@code dequantize()} is exactly the optimizer's
 * {@code W_r = s·(W_q − z)}.
 *
 * <p>Specs: INT, 2..8 bits, asymmetric, any granularity (the reference default is groups of 64:
 * {@code QuantSpec.builder().bits(4).asymmetric().groupSize(64).zeroEncoding(NumberEncoding.FP16)}).
 * The reference keeps z fractional in fp16: use FP16 (or FP32) zero points. With UINT zero points
 * (the builder's default) every iterate's z is rounded to an integer in {@code [0, 2^b−1]} and the
 * start is core's min-max round-to-nearest; with {@link HqqParams#keepBest()} the result is then never worse than
 * it in the solver's criterion {@code mean|W − W_r|} (the default returns the reference's last update, measured but
 * not compared), but an integer zero point can rarely move and the gain is small.
 * Symmetric specs (no zero point to optimise) and non-INT formats are rejected.
 */
public final class Hqq implements GridSolver {
    private final HqqParams params;

    /** The reference defaults ({@link HqqParams#DEFAULTS}). */
    public Hqq() {
        this(HqqParams.DEFAULTS);
    }

    public Hqq(HqqParams params) {
        this.params = Objects.requireNonNull(params, "params");
    }

    /** The quantized tensor and the optimizer's trace (errors per iterate). */
    public record Solution(QuantizedTensor tensor, HqqResult result) {}

    public HqqParams params() {
        return params;
    }

    @Override
    public String name() {
        return "hqq";
    }

    @Override
    public boolean needsCalibration() {
        return false;
    }

    /** {@inheritDoc} {@code stats} is ignored (HQQ needs no calibration data) and may be null. */
    @Override
    public QuantizedTensor solve(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        float[] data = w.dup('c').castTo(DataType.FLOAT).data().asFloat();
        return solve(layer, data, w.shape(), spec).tensor();
    }

    /**
     * {@inheritDoc} With UINT zero points the note says in how many groups the integer zero point moved from
     * round-to-nearest's (none: the result is RTN's), and that FP16 zero points keep HQQ's fractional optimum.
     */
    @Override
    public WeightSolver.Solution quantize(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        float[] data = w.dup('c').castTo(DataType.FLOAT).data().asFloat();
        QuantizedTensor q = solve(layer, data, w.shape(), spec).tensor();
        String note = "";
        if (spec.zeroEncoding() == NumberEncoding.UINT) {
            QuantizedTensor rtn = Quantizer.quantize(layer, data, w.shape(), spec);
            float[] a = q.zeros().values();
            float[] b = rtn.zeros().values();
            int moved = 0;
            for (int i = 0; i < a.length; i++) {
                moved += a[i] != b[i] ? 1 : 0;
            }
            note = String.format(java.util.Locale.ROOT, "hqq with UINT zero points: the zero moved in %d of %d groups%s; "
                    + "FP16 zero points keep HQQ's fractional zero", moved, a.length, moved == 0 ? " (the result is RTN's)"
                    : "");
        }
        return new WeightSolver.Solution(new StoredWeight.Grid(q), note);
    }

    /**
     * Quantizes a row-major weight ({@code shape[0]} rows, the other dimensions flattened into columns).
     *
     * @throws InvalidSpecException   for a spec HQQ cannot produce (see the class comment)
     * @throws InvalidTensorException for NaN/Inf weights, a group size that does not divide the row width,
     *                                or a range the scale encoding cannot reach; the message names the layer
     */
    public Solution solve(String layer, float[] data, long[] shape, QuantSpec spec) {
        checkSpec(layer, spec);
        Quantizer.validate(layer, data, shape, spec);
        long rows = shape.length <= 1 ? 1 : shape[0];
        int cols = Math.toIntExact(data.length / rows);
        int blockLength = Math.toIntExact(spec.granularity().blockLength(rows, cols));
        HqqResult result;
        try {
            result = new HqqOptimizer(params, IntGrid.of(spec)).optimize(data, cols, blockLength);
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("layer '" + layer + "' (" + spec + "), " + e.getMessage(), e);
        }
        return new Solution(store(result, shape, spec), result);
    }

    private static void checkSpec(String layer, QuantSpec spec) {
        if (spec.format() != Format.INT) {
            throw new InvalidSpecException("layer '" + layer + "': HQQ quantizes to the INT format, not "
                    + spec.format() + " (" + spec + ")");
        }
        if (spec.symmetric()) {
            throw new InvalidSpecException("layer '" + layer + "': HQQ optimises the zero point, but " + spec
                    + " is symmetric; use an asymmetric spec with FP16 zero points, e.g. "
                    + "QuantSpec.builder().bits(" + spec.bits() + ").asymmetric().zeroEncoding(NumberEncoding.FP16)");
        }
    }

    /** Packs the codes (in parallel, byte-aligned chunks) and encodes the already-representable scales and zeros. */
    private static QuantizedTensor store(HqqResult r, long[] shape, QuantSpec spec) {
        int bits = spec.bits();
        byte[] codes = r.codes();
        int n = codes.length;
        byte[] packed = new byte[Math.toIntExact(BitPacker.packedLength(Format.INT, bits, n))];
        int chunk = 1 << 16; // a multiple of 8: every chunk starts on a byte boundary
        int chunks = (n + chunk - 1) / chunk;
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int from = c * chunk;
            BitPacker.pack(codes, from, Math.min(chunk, n - from), bits, packed, from / 8 * bits);
        });
        EncodedArray scales = EncodedArray.encode(spec.scaleEncoding(), bits, r.scales());
        EncodedArray zeros = EncodedArray.encode(spec.zeroEncoding(), bits, r.zeros());
        return new QuantizedTensor(spec, shape, packed, scales, zeros, 1f);
    }
}
