package org.quant4j.qat;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.formats.IntGrid;

/**
 * Vectorised fake quantization on core's {@link IntGrid}: the same values as
 * {@code grid.fakeQuantize(x, scale, zero)} element by element, computed with a handful of whole-array
 * ND4J ops on a {@code [blocks, blockLength]} matrix (one scale and zero point per row). The scales and
 * zero points are IntGrid's ({@link IntGrid#fitRange}) or learned ones; this class only applies them.
 *
 * <p>IntGrid with an integer zero point computes {@code rint(clamp(x/s, -z, M-z)) · s}. Because the clamp
 * bounds are integers, clamping after rounding gives the same integer, so here {@code q = rint(x/s)}
 * ({@link Rint}: round half to even like {@link Math#rint}), then {@code clamp(q + z, 0, M) - z} (exact
 * integer arithmetic in float), then {@code · s}. With a fractional (FP16/FP32) zero point IntGrid computes
 * {@code (rint(clamp(x/s + z, 0, M)) - z) · s}, which is done in that order. Values whose grid point would
 * overflow a float are saturated to {@code ±Float.MAX_VALUE}, as IntGrid does, and zero is {@code +0}: the results
 * are bit-identical to IntGrid's.
 */
final class IntFakeQuant {
    private IntFakeQuant() {}

    /** Whether {@code grid} keeps zero points as integers (symmetric, or UINT zero encoding). */
    static boolean integerZero(IntGrid grid) {
        return grid.symmetric() || grid.zeroEncoding() == NumberEncoding.UINT;
    }

    /**
     * {@code value(code(x))} for every element of {@code blocks} (not modified), row {@code b} on the grid
     * of {@code scales[b]} and code-space zero point {@code zeros[b]}; a new array of the same shape.
     */
    static INDArray apply(INDArray blocks, IntGrid grid, float[] scales, float[] zeros) {
        return applyInto(blocks, blocks.ulike(), grid, scales, zeros);
    }

    /**
     * {@link #apply} into {@code out} (same shape as {@code blocks}, row-major), which is returned. Reusing one
     * output array spares the page faults of a fresh multi-megabyte allocation on every training step.
     */
    static INDArray applyInto(INDArray blocks, INDArray out, IntGrid grid, float[] scales, float[] zeros) {
        out.assign(blocks);
        if (scales.length == 1) {
            return applyTo(out.divi(scales[0]), grid, scales, null, zeros);
        }
        INDArray scale = column(scales);
        return applyTo(out.diviColumnVector(scale), grid, scales, scale, zeros);
    }

    /** {@link #apply} on one grid, in place: {@code x} is overwritten by its values and returned. */
    static INDArray applyInPlace(INDArray x, IntGrid grid, float scale, float zero) {
        return applyTo(x.divi(scale), grid, new float[] {scale}, null, new float[] {zero});
    }

    /** The rest of {@link #apply} once {@code q = x / scale} is computed. */
    private static INDArray applyTo(INDArray q, IntGrid grid, float[] scales, INDArray scale, float[] zeros) {
        boolean single = scales.length == 1;
        int maxCode = grid.maxCode();
        if (integerZero(grid)) {
            rint(q);
            if (single || grid.symmetric()) { // one zero point for every row: the clamp bounds are scalars
                clamp(q, -zeros[0], maxCode - zeros[0]);
                q.addi(0f); // -0 + 0 = +0: the code z gives (z - z)·s = +0 in IntGrid, never -0
            } else {
                INDArray zero = column(zeros);
                q.addiColumnVector(zero);
                clamp(q, 0, maxCode);
                q.subiColumnVector(zero);
            }
        } else {
            INDArray zero = single ? null : column(zeros);
            if (single) q.addi(zeros[0]); else q.addiColumnVector(zero);
            clamp(q, 0, maxCode);
            rint(q);
            if (single) q.subi(zeros[0]); else q.subiColumnVector(zero);
        }
        if (single) q.muli(scales[0]); else q.muliColumnVector(scale);
        if (mayOverflow(scales, zeros, maxCode)) {
            clamp(q, -Float.MAX_VALUE, Float.MAX_VALUE);
        }
        return q;
    }

    /** Round half to even, in place. */
    static INDArray rint(INDArray x) {
        return Nd4j.exec(new Rint(x, x));
    }

    /** {@code min(max(x, lo), hi)} in place. */
    static INDArray clamp(INDArray x, double lo, double hi) {
        ClipByValue clip = new ClipByValue(x, lo, hi);
        clip.addOutputArgument(x);
        Nd4j.exec(clip);
        return x;
    }

    /** A {@code [n, 1]} column of the values. */
    static INDArray column(float[] values) {
        return Nd4j.create(values, new long[] {values.length, 1}, 'c');
    }

    private static boolean mayOverflow(float[] scales, float[] zeros, int maxCode) {
        for (int b = 0; b < scales.length; b++) {
            float z = zeros[zeros.length == 1 ? 0 : b];
            if (Math.max(z, maxCode - z) * (double) scales[b] > Float.MAX_VALUE) {
                return true;
            }
        }
        return false;
    }
}
