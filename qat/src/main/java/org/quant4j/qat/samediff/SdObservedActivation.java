package org.quant4j.qat.samediff;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.observer.RangeObserver;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.formats.IntGrid;
import org.quant4j.qat.ActivationGradient;
import org.quant4j.qat.ObserverKind;

/**
 * The graph and state of an observed activation quantizer ({@link SameDiffQat#fakeQuantActivation(SDVariable,
 * QuantSpec, ObserverKind, ObserverOptions)}): a calibration {@link RangeObserver} in Java, and the grid it implies
 * ({@code IntGrid.fitRange(min(lo, 0), max(hi, 0))}, as the DL4J path's {@code ObservedActivationQuantizer}) held in
 * three scalar graph constants updated in place: {@code <a>/obs_scale}, {@code <a>/obs_zero} (code space) and
 * {@code <a>/fq_on} (0 until the observer has seen a batch: the activation then passes unquantized, as in the DL4J
 * path).
 *
 * <p>Forward: IntGrid's fake quantization bit for bit, {@code rint(clamp(a/s, -z, 2^b-1-z))·s} for integer zero
 * points, {@code (rint(clamp(a/s + z, 0, 2^b-1)) - z)·s} for float ones. Backward ({@link ActivationGradient#CLIPPED_STE}):
 * {@code ∂â/∂a = [rint(a/s) ∈ [-z, 2^b-1-z]]}, PyTorch's {@code fake_quantize_per_tensor_affine} backward and the DL4J
 * path's {@code ClippingMask.roundedCodeInRange} (the coordinate is clamped to {@code [-z-1, 2^b-z]} first, which
 * keeps every in/out decision and the rounding trick's range); {@link ActivationGradient#STE}: 1.
 */
final class SdObservedActivation {
    static final String SCALE_SUFFIX = "/obs_scale";
    static final String ZERO_SUFFIX = "/obs_zero";

    final ObserverKind kind;
    final ObserverOptions options;
    final IntGrid grid;
    final RangeObserver observer;
    String scaleVar;
    String zeroVar;
    String onVar;

    SdObservedActivation(QuantSpec spec, ObserverKind kind, ObserverOptions options) {
        this.kind = kind;
        this.options = options;
        this.grid = IntGrid.of(spec);
        this.observer = options.create(kind, grid);
    }

    /** The fake-quantized {@code a} (named by the caller). */
    SDVariable build(SameDiff sd, SDVariable a, String name) {
        SDVariable scale = sd.constant(name + SCALE_SUFFIX, Nd4j.scalar(DataType.FLOAT, 1f));
        SDVariable zero = sd.constant(name + ZERO_SUFFIX, Nd4j.scalar(DataType.FLOAT, 0f));
        SDVariable on = sd.constant(name + SameDiffQat.BYPASS_SUFFIX, Nd4j.scalar(DataType.FLOAT, 0f));
        scaleVar = scale.name();
        zeroVar = zero.name();
        onVar = on.name();
        double maxCode = grid.maxCode();
        boolean integerZero = grid.symmetric() || grid.zeroEncoding() == NumberEncoding.UINT;
        SDVariable ac = SdOps.stop(sd, a);
        SDVariable v = ac.div(scale);
        SDVariable low = zero.neg();
        SDVariable high = zero.rsub(maxCode);
        SDVariable value;
        if (integerZero) {
            value = SdOps.rint(sd, sd.math().min(sd.math().max(v, low), high)).mul(scale);
        } else {
            SDVariable code = SdOps.rint(sd, sd.math().clipByValue(v.add(zero), 0.0, maxCode));
            value = code.sub(zero).mul(scale);
        }
        SDVariable surrogate = a;
        if (options.gradient() == ActivationGradient.CLIPPED_STE) {
            SDVariable r = SdOps.rint(sd, sd.math().min(sd.math().max(v, low.sub(1.0)), high.add(1.0)));
            SDVariable inside = r.gte(low).castTo(DataType.FLOAT).mul(r.lte(high).castTo(DataType.FLOAT));
            surrogate = a.mul(SdOps.stop(sd, inside));
        }
        SDVariable fq = SdOps.straightThrough(sd, value, surrogate);
        // on = 1: exactly fq; on = 0 (nothing observed yet): exactly a
        return SdOps.select(on, fq, a);
    }

    /** Observes one batch of the activation (unless frozen) and writes the grid it implies into the graph. */
    void observe(SameDiff sd, String name, INDArray values) {
        if (observer.isFrozen()) {
            return;
        }
        try {
            observer.observe(values);
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("activation '" + name + "': " + e.getMessage());
        }
        IntGrid.Params p = params();
        sd.getVariable(scaleVar).getArr().assign(p.scale());
        sd.getVariable(zeroVar).getArr().assign(p.zero());
        sd.getVariable(onVar).getArr().assign(1f);
    }

    /** The grid of the observed range (the DL4J path's), or null before the first observation. */
    IntGrid.Params params() {
        if (!observer.hasRange()) {
            return null;
        }
        return grid.fitRange(Math.min(observer.min(), 0f), Math.max(observer.max(), 0f));
    }

    /** The grid the graph computes with: {@code [scale, zero]} from its constants. */
    float[] graphGrid(SameDiff sd) {
        return new float[] {sd.getVariable(scaleVar).getArr().getFloat(0), sd.getVariable(zeroVar).getArr().getFloat(0)};
    }
}
