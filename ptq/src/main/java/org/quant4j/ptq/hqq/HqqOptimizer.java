package org.quant4j.ptq.hqq;

import java.util.Arrays;
import java.util.Objects;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.formats.IntGrid;

/**
 * The HQQ proximal solver on raw float blocks: Half-Quadratic Quantization, Badri &amp; Shaji 2023
 * ("Half-Quadratic Quantization of Large Machine Learning Models", mobiusml blog/paper), as the
 * reference {@code optimize_weights_proximal_legacy} of mobiusml/hqq {@code hqq/core/optimize.py}.
 * It knows no layer and no storage format: {@code org.quant4j.ptq.Hqq} turns its result into a
 * {@code QuantizedTensor}.
 *
 * <h2>Problem and iteration (the paper's symbols)</h2>
 * With {@code Q_z(W) = clamp(round(W/s + z), 0, 2^b−1)} and {@code Q_z⁻¹(W_q) = s·(W_q − z)}, HQQ solves per group
 * <pre>
 *   argmin_{z, W_e}  φ(W_e) + β/2 ‖W_e − (W − Q_z⁻¹(Q_z(W)))‖²₂ ,   φ = ‖·‖_p^p, p = 0.7
 * </pre>
 * by half-quadratic splitting, alternating for t = 0, 1, ...:
 * <pre>
 *   W_e ← shrink_lp(W − Q_z⁻¹(Q_z(W)), β)        (sub-problem 1, {@link LpShrink})
 *   z   ← ⟨Q_z(W) − (W − W_e)/s⟩                 (sub-problem 2: least squares in z, ⟨·⟩ = mean over the group)
 *   β   ← κβ
 * </pre>
 * from the min-max scale and zero point, with β = 10, κ = 1.01, at most 20 iterations ({@link HqqParams}).
 * The scale s stays fixed; with {@link HqqParams#optimizeScale()} sub-problem 2 is solved in
 * {@code (s, z)} jointly instead, the least-squares fit of {@code s·(W_q − z)} to {@code W − W_e}
 * (closed form: s = cov(W_q, W − W_e) / var(W_q), then z as above).
 * The reference keeps the inverse scale {@code 1/s} (its {@code scale}) and multiplies; here s is the
 * stored scale and every formula is written with it.
 *
 * <h2>Early stop and the returned iterate</h2>
 * Each iteration evaluates the current iterate's error {@code mean|W − W_r|} ({@code W_r = Q_z⁻¹(Q_z(W))})
 * over the whole tensor, as the reference does, then computes the next zero point; the loop stops at the first
 * iterate whose error does not decrease. By default the result is what the reference's default solver
 * ({@code optimize_weights_proximal = optimize_weights_proximal_legacy}) returns: the zero point computed in the
 * last iteration run (from the iterate that stopped the loop, or after the last one); its error is measured once
 * more, so the reported error is exactly that of the result. With {@link HqqParams#keepBest()} the best evaluated
 * iterate is returned instead (the reference's {@code optimize_weights_proximal_v2} with {@code early_stop}).
 *
 * <h2>Storage is part of every iterate</h2>
 * Each iterate's z (and s) is projected onto what the zero (scale) encoding stores before it is used:
 * FP16 rounding (the reference's CUDA path computes in fp16 throughout), FP32 as is, and for integer
 * (UINT) zero points {@code clamp(rint(z), 0, 2^b−1)}. Codes and values follow core's {@link IntGrid}
 * float for float (the iteration repeats the arithmetic of {@link IntGrid#codes} and {@link IntGrid#values}
 * in a branch-free loop; the final codes come from {@link IntGrid#codes} itself), the arithmetic the INT
 * codec dequantizes with, so the errors reported are those of the stored model.
 *
 * <h2>Initial scale and zero point</h2>
 * FP16/FP32 zeros: the block's own min-max, {@code s = (max − min)/(2^b−1)} rounded up to the scale
 * encoding and {@code z = −min/s}, as the reference (no widening of the range to contain 0), rounded to an integer
 * at 4 bits as the reference's {@code hqq_base_quant_config} does ({@code round_zero = nbits == 4}). The
 * reference clamps {@code 1/s} at 2·10⁴ against fp16 overflow; here s is bounded below relative to the
 * block instead, {@code s ≥ max|W|·2^−10}, so {@code |z| ≤ 2^10 + 2^b − 1} stays representable in FP16
 * even for a (nearly) constant block. UINT zeros: core's {@link IntGrid#fitRange} (range widened to
 * contain 0, integer zero point), so the first iterate is exactly core's min-max round-to-nearest.
 *
 * <h2>Blocks and the reference's axis</h2>
 * A block is {@code blockLength} consecutive elements of the row-major {@code [out, in]} weight: g
 * consecutive input columns of one row (a whole row per channel, everything per tensor). That is the
 * reference's {@code axis=1} ({@code W.reshape([-1, group_size])}, statistics and the mean of
 * sub-problem 2 along dimension 1). The reference's {@code axis=0} ({@code W.reshape([group_size, -1])},
 * groups of g elements of one input column taken every {@code out/g} rows) is not a layout our
 * {@code QuantizedTensor} stores, so it has no counterpart here.
 *
 * <p>Observation: the shrink is 0 below {@code τ = β^(−1/(2−p)) ≈ 0.17} (β = 10). At LLM weight
 * magnitudes the residuals are far below τ, W_e vanishes and sub-problem 2 becomes the least-squares
 * zero point of the current codes: the iteration then alternates re-rounding and re-centring.
 *
 * <p>Performance: one pass over the weights per iteration on raw floats (codes and residuals, then
 * the sums of one cached chunk), with blocks split over threads in fixed slices whose partial sums are
 * added in slice order, so the result does not depend on the number of threads.
 */
public final class HqqOptimizer {
    /** Elements per parallel slice (whole blocks): fixed, so sums and results do not depend on the thread count. */
    private static final int SLICE_ELEMENTS = 1 << 16;
    /** Relative floor of the initial scale: {@code s ≥ max|W| · 2^−10}. */
    private static final float MIN_RELATIVE_SCALE = 0x1p-10f;
    /** The reference's {@code hqq_base_quant_config} rounds the initial zero point ({@code round_zero}) at 4 bits only. */
    private static final int ROUND_ZERO_BITS = 4;

    private final HqqParams params;
    private final IntGrid grid;
    private final NumberEncoding scaleEncoding;
    private final NumberEncoding zeroEncoding;
    private final int maxCode;
    private final boolean integerZero;

    /**
     * @param grid an asymmetric integer grid (bits, scale and zero encodings); HQQ optimises the zero point
     */
    public HqqOptimizer(HqqParams params, IntGrid grid) {
        this.params = Objects.requireNonNull(params, "params");
        this.grid = Objects.requireNonNull(grid, "grid");
        if (grid.symmetric()) {
            throw new InvalidSpecException("HQQ optimises the zero point: it needs an asymmetric grid");
        }
        this.scaleEncoding = grid.scaleEncoding();
        this.zeroEncoding = grid.zeroEncoding();
        this.maxCode = grid.maxCode();
        this.integerZero = zeroEncoding == NumberEncoding.UINT;
    }

    /**
     * The optimised codes, scales and zero points of a row-major tensor.
     *
     * @param w           the weights (finite; not modified)
     * @param cols        row width, for error messages
     * @param blockLength elements per block; divides {@code w.length}
     * @throws InvalidTensorException if a block's range needs a scale beyond the scale encoding
     */
    public HqqResult optimize(float[] w, int cols, int blockLength) {
        if (blockLength < 1 || w.length % blockLength != 0) {
            throw new IllegalArgumentException("block length " + blockLength + " does not divide " + w.length);
        }
        Slices slices = new Slices(w.length / blockLength, blockLength);
        Iterate start = new Iterate(slices.blocks);
        double[] blockSums = new double[slices.blocks]; // Σ W per block, constant over the iterations
        slices.forEach(b -> blockSums[b] = initBlock(w, b, blockLength, cols, start.scales, start.zeros));

        Iterate current = start;
        Iterate next = new Iterate(slices.blocks);
        Iterate best = new Iterate(slices.blocks);
        double[] history = new double[params.iterations()];
        double[] partial = new double[slices.count];
        int evaluated = 0;
        int bestIteration = 0;
        boolean stopped = false;
        double beta = params.beta();
        for (int t = 0; t < params.iterations(); t++) {
            LpShrink shrink = new LpShrink(params.lpNorm(), beta);
            Iterate in = current;
            Iterate out = next;
            IntStream.range(0, slices.count).parallel().forEach(k -> {
                Scratch scratch = new Scratch(blockLength);
                double error = 0;
                for (int b = slices.first(k), end = slices.first(k + 1); b < end; b++) {
                    scratch.scale = in.scales[b];
                    scratch.zero = in.zeros[b];
                    error += step(w, b, blockLength, blockSums[b], shrink, scratch);
                    out.scales[b] = scratch.scale;
                    out.zeros[b] = scratch.zero;
                }
                partial[k] = error;
            });
            double error = 0;
            for (double p : partial) { // in slice order: the same sum for any number of threads
                error += p;
            }
            history[evaluated++] = error / w.length;
            Iterate free;
            if (t == 0 || history[t] < history[bestIteration]) {
                bestIteration = t;
                free = best; // the evaluated iterate becomes the best; the old best's buffers are reused
                best = current;
            } else if (params.earlyStop()) {
                stopped = true;
                break;
            } else {
                free = current;
            }
            current = next;
            next = free;
            beta *= params.kappa();
        }

        byte[] codes = new byte[w.length];
        if (params.keepBest()) {
            Iterate result = best;
            slices.forEach(b -> grid.codes(w, b * blockLength, blockLength, result.scales[b], result.zeros[b],
                    codes, b * blockLength));
            return new HqqResult(codes, result.scales, result.zeros, blockLength, Arrays.copyOf(history, evaluated),
                    bestIteration);
        }
        // the legacy solver's result: the update computed from the last evaluated iterate, in `next` when the loop
        // stopped early (no swap happened), else in `current`; its error is measured here
        Iterate result = stopped ? next : current;
        double[] finalPartial = new double[slices.count];
        IntStream.range(0, slices.count).parallel().forEach(k -> {
            float[] values = new float[blockLength];
            double error = 0;
            for (int b = slices.first(k), end = slices.first(k + 1); b < end; b++) {
                int from = b * blockLength;
                grid.codes(w, from, blockLength, result.scales[b], result.zeros[b], codes, from);
                grid.values(codes, from, blockLength, result.scales[b], result.zeros[b], values, 0);
                for (int i = 0; i < blockLength; i++) {
                    error += Math.abs(w[from + i] - values[i]);
                }
            }
            finalPartial[k] = error;
        });
        double finalError = 0;
        for (double p : finalPartial) {
            finalError += p;
        }
        double[] errors = Arrays.copyOf(history, evaluated + 1);
        errors[evaluated] = finalError / w.length;
        return new HqqResult(codes, result.scales, result.zeros, blockLength, errors, evaluated);
    }

    /**
     * One iteration on block {@code b} from the iterate in {@code scratch}: returns its {@code Σ|W − W_r|}
     * and replaces it by the next (sub-problems 1 and 2). The block is walked in chunks of the scratch
     * length: first the codes and residuals {@code W − W_r} in a branch-free loop, then the sums with
     * independent accumulators, calling the shrink only where a residual exceeds its threshold.
     */
    private double step(float[] w, int b, int n, double sumW, LpShrink shrink, Scratch scratch) {
        float scale = scratch.scale;
        float zero = scratch.zero;
        float tau = shrink.threshold();
        boolean fitScale = params.optimizeScale();
        float[] codes = scratch.codes;
        float[] residuals = scratch.residuals;
        double absError = 0;
        double sumQ = 0;
        double sumShrunk = 0; // Σ W_e
        double sumQQ = 0;
        double sumQW = 0;
        double sumQShrunk = 0;
        for (int off = 0; off < n; off += codes.length) {
            int len = Math.min(codes.length, n - off);
            int from = b * n + off;
            codesAndResiduals(w, from, len, scale, zero, scratch);
            sumQ += sum(codes, len);
            double a0 = 0;
            double a1 = 0;
            int k = 0;
            for (; k + 1 < len; k += 2) {
                float m0 = Math.abs(residuals[k]);
                float m1 = Math.abs(residuals[k + 1]);
                a0 += m0;
                a1 += m1;
                if (m0 > tau | m1 > tau) { // else W_e = 0 for both, the common case
                    float shrunk0 = shrink.apply(residuals[k]);
                    float shrunk1 = shrink.apply(residuals[k + 1]);
                    sumShrunk += (double) shrunk0 + shrunk1;
                    sumQShrunk += codes[k] * (double) shrunk0 + codes[k + 1] * (double) shrunk1;
                }
            }
            if (k < len) {
                float shrunk = shrink.apply(residuals[k]);
                a0 += Math.abs(residuals[k]);
                sumShrunk += shrunk;
                sumQShrunk += codes[k] * (double) shrunk;
            }
            absError += a0 + a1;
            if (fitScale) {
                sumQQ += dot(codes, codes, 0, len);
                sumQW += dot(codes, w, from, len);
            }
        }
        double sumTarget = sumW - sumShrunk; // Σ (W − W_e)
        float nextScale = fitScale
                ? leastSquaresScale(scale, n, sumQ, sumTarget, sumQQ, sumQW - sumQShrunk)
                : scale;
        scratch.scale = nextScale;
        scratch.zero = storedZero((float) ((sumQ - sumTarget / nextScale) / n));
        return absError;
    }

    /**
     * {@code scratch.codes[k] = W_q} and {@code scratch.residuals[k] = W − W_r} for {@code w[from + k]}, with
     * exactly the arithmetic of {@link IntGrid#codes} and {@link IntGrid#values} (what the stored tensor
     * dequantizes with), on floats and with the clamps as selects (no NaN can occur) so the loop has no
     * branches; core's own methods where a value could overflow the float range.
     */
    private void codesAndResiduals(float[] w, int from, int len, float scale, float zero, Scratch scratch) {
        float[] codes = scratch.codes;
        float[] residuals = scratch.residuals;
        if (Math.max(Math.abs(zero), Math.abs(maxCode - zero)) * (double) scale > Float.MAX_VALUE) {
            grid.codes(w, from, len, scale, zero, scratch.bytes, 0);
            grid.values(scratch.bytes, 0, len, scale, zero, residuals, 0);
            for (int k = 0; k < len; k++) {
                codes[k] = scratch.bytes[k] & 0xFF;
                residuals[k] = w[from + k] - residuals[k];
            }
            return;
        }
        float top = maxCode;
        if (integerZero) { // IntGrid: clamp(x/s, −z, 2^b−1−z), round, + z
            float lo = -zero;
            float hi = top - zero;
            for (int k = 0; k < len; k++) {
                float x = w[from + k];
                float v = x / scale;
                v = v >= lo ? v : lo; // Math.max/min as IntGrid (no NaN here), faster as selects
                v = v <= hi ? v : hi;
                float q = roundHalfEven(v) + zero;
                codes[k] = q;
                residuals[k] = x - (q - zero) * scale;
            }
        } else { // IntGrid: round(clamp(x/s + z, 0, 2^b−1))
            for (int k = 0; k < len; k++) {
                float x = w[from + k];
                float v = x / scale + zero;
                v = v >= 0f ? v : 0f;
                v = v <= top ? v : top;
                float q = roundHalfEven(v);
                codes[k] = q;
                residuals[k] = x - (q - zero) * scale;
            }
        }
    }

    /** Round half to even of {@code |v| <= 2^22}, as core's IntGrid: adding 1.5·2^23 leaves no fraction bits. */
    private static float roundHalfEven(float v) {
        return (v + 0x1.8p23f) - 0x1.8p23f;
    }

    /** Sum of small integer-valued floats (exact in any order below 2^24). */
    private static double sum(float[] x, int len) {
        float a0 = 0;
        float a1 = 0;
        float a2 = 0;
        float a3 = 0;
        int k = 0;
        for (; k + 3 < len; k += 4) {
            a0 += x[k];
            a1 += x[k + 1];
            a2 += x[k + 2];
            a3 += x[k + 3];
        }
        for (; k < len; k++) {
            a0 += x[k];
        }
        return (double) a0 + a1 + a2 + a3;
    }

    private static double dot(float[] codes, float[] x, int from, int len) {
        double a0 = 0;
        double a1 = 0;
        int k = 0;
        for (; k + 1 < len; k += 2) {
            a0 += codes[k] * (double) x[from + k];
            a1 += codes[k + 1] * (double) x[from + k + 1];
        }
        for (; k < len; k++) {
            a0 += codes[k] * (double) x[from + k];
        }
        return a0 + a1;
    }

    /**
     * The s of {@code argmin_{s,z} ‖s·(W_q − z) − (W − W_e)‖²}, rounded to the scale encoding; the current
     * scale when the codes are constant or the fit is not a positive, representable scale.
     */
    private float leastSquaresScale(float current, int n, double sumQ, double sumT, double sumQQ, double sumQT) {
        double varQ = sumQQ - sumQ * sumQ / n;
        double cov = sumQT - sumQ * sumT / n;
        if (!(varQ > 0)) {
            return current;
        }
        float fitted = NumberEncodings.round(scaleEncoding, (float) (cov / varQ));
        return fitted > 0 && Float.isFinite(fitted) ? fitted : current;
    }

    /** z projected onto what the zero encoding stores. */
    private float storedZero(float zero) {
        if (zeroEncoding == NumberEncoding.UINT) {
            return (float) Math.min(Math.max(Math.rint(zero), 0), maxCode);
        }
        return NumberEncodings.round(zeroEncoding, zero);
    }

    /** Sets the min-max scale and zero point of block {@code b} (see the class comment); returns {@code Σ W} of the block. */
    private double initBlock(float[] w, int b, int n, int cols, float[] s, float[] z) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        double sum = 0;
        for (int i = b * n, end = i + n; i < end; i++) {
            min = Math.min(min, w[i]);
            max = Math.max(max, w[i]);
            sum += w[i];
        }
        if (zeroEncoding == NumberEncoding.UINT) {
            try {
                IntGrid.Params p = grid.fitRange(min, max);
                s[b] = p.scale();
                z[b] = p.zero();
            } catch (InvalidTensorException e) {
                throw new InvalidTensorException(describe(b, n, cols) + ": " + e.getMessage(), e);
            }
            return sum;
        }
        float maxAbs = Math.max(-min, max);
        if (maxAbs == 0) {
            s[b] = 1f;
            z[b] = 0f;
            return sum;
        }
        double exact = Math.max(((double) max - min) / maxCode, (double) maxAbs * MIN_RELATIVE_SCALE);
        float scale = (float) exact;
        if (scale < exact) {
            scale = Math.nextUp(scale);
        }
        float stored = NumberEncodings.roundUp(scaleEncoding, scale);
        if (!Float.isFinite(stored)) {
            throw new InvalidTensorException(describe(b, n, cols) + ": values in [" + min + ", " + max + "] need a "
                    + grid.bits() + "-bit scale of " + scale + ", beyond the largest finite " + scaleEncoding
                    + " value; store the scales as FP32 or BF16");
        }
        s[b] = stored;
        float zero = -min / stored;
        z[b] = storedZero(grid.bits() == ROUND_ZERO_BITS ? (float) Math.rint(zero) : zero);
        return sum;
    }

    private static String describe(int b, int n, int cols) {
        long start = (long) b * n;
        long row = start / cols;
        long col = start - row * cols;
        return n >= cols ? "row " + row : "row " + row + ", columns " + col + ".." + (col + n - 1);
    }

    /** Per-thread state: the iterate of the block being optimised and buffers for one chunk of it. */
    private static final class Scratch {
        float scale;
        float zero;
        static final int MAX_LENGTH = 4096;
        final float[] codes;
        final float[] residuals;
        final byte[] bytes;

        Scratch(int blockLength) {
            int length = Math.min(blockLength, MAX_LENGTH);
            this.codes = new float[length];
            this.residuals = new float[length];
            this.bytes = new byte[length];
        }
    }

    /** The scale and zero point of every block at one iterate. */
    private static final class Iterate {
        final float[] scales;
        final float[] zeros;

        Iterate(int blocks) {
            this.scales = new float[blocks];
            this.zeros = new float[blocks];
        }
    }

    /** Blocks grouped into fixed slices of about {@link #SLICE_ELEMENTS} elements. */
    private static final class Slices {
        final int blocks;
        final int blocksPerSlice;
        final int count;

        Slices(int blocks, int blockLength) {
            this.blocks = blocks;
            this.blocksPerSlice = Math.max(1, SLICE_ELEMENTS / blockLength);
            this.count = (blocks + blocksPerSlice - 1) / blocksPerSlice;
        }

        int first(int slice) {
            return (int) Math.min(blocks, (long) slice * blocksPerSlice);
        }

        /** Runs {@code body} for every block, slices in parallel. */
        void forEach(IntConsumer body) {
            IntStream.range(0, count).parallel().forEach(k -> {
                for (int b = first(k), end = first(k + 1); b < end; b++) {
                    body.accept(b);
                }
            });
        }
    }
}
