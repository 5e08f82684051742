package org.quant4j.qat.samediff;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.qat.ActivationGradient;
import org.quant4j.qat.ObserverKind;
import org.quant4j.qat.WeightGradient;

/**
 * Quantization-aware training for SameDiff graphs: fake-quant nodes built from ordinary SameDiff ops, trained by
 * {@code sd.fit}, then {@link #convert} to real low-bit weights. One instance per graph ({@link #of}).
 *
 * <pre>{@code
 * SameDiffQat qat = SameDiffQat.of(sd);
 * SDVariable w0 = sd.var("w0", Nd4j.randn(DataType.FLOAT, 784, 128).muli(0.05));
 * SDVariable h = sd.nn().relu(in.mmul(qat.fakeQuantWeight(w0, int4PerChannel, WeightGradient.LSQ)).add(b0), 0);
 * h = qat.fakeQuantActivation(h, uint8PerTensor, ActivationGradient.LSQ);
 * ...
 * // or, on an observed range: h = qat.fakeQuantActivation(h, uint8PerTensor, ObserverKind.MOVING_AVERAGE_MIN_MAX);
 * sd.fit(trainIterator, epochs);            // activation steps start from the first training batch
 * QuantizedModel model = qat.convert();     // int4 codes + the learned steps
 * SameDiff deployed = qat.dequantizedGraph(model);  // float graph on the dequantized weights, same outputs
 * }</pre>
 *
 * <p>Weights ({@link #fakeQuantWeight}), INT, symmetric or asymmetric, per tensor or per output channel:
 * <ul>
 * <li>{@link WeightGradient#STE}: min-max grid of the current weight with core's {@code IntGrid} arithmetic (scale
 *     {@code 2·amax/(2^b-1)} or {@code (max'-min')/(2^b-1)} computed in double, rounded up to a float and to the
 *     scale encoding; integer zero point {@code rint(-min'/scale)}; {@code rint(clamp(w/s, -z, 2^b-1-z))·s}), with
 *     the identity straight-through estimator {@code ∂ŵ/∂w = 1} (Bengio et al. 2013), as the DL4J path's weight
 *     noise.</li>
 * <li>{@link WeightGradient#LSQ}: Learned Step Size Quantization (Esser et al., ICLR 2020, "Learned Step Size
 *     Quantization", eq. 1-5; reference: the authors' description, and PyTorch re-implementations such as
 *     {@code zhutmost/lsq-net}): a trainable step per block, initialised to {@code 2⟨|w|⟩/sqrt(Qp)}; forward
 *     {@code ŵ = ⌊clip(w/s, -Qn, Qp)⌉·s} with {@code Qn = 2^(b-1)}, {@code Qp = 2^(b-1)-1} (core's symmetric grid)
 *     and the step rounded to its scale encoding; backward by SameDiff's autodiff through the rounding's
 *     straight-through estimator, which gives exactly eq. 3 for {@code ∂ŵ/∂s} and the clipped STE of eq. 5 for
 *     {@code ∂ŵ/∂w} ({@code clip_by_value} passes the gradient strictly inside the bounds), with the step's
 *     gradient scaled by {@code g = 1/sqrt(N·Qp)}, N the block's size (sec. 2.2).</li>
 * </ul>
 * Learned activations ({@link #fakeQuantActivation(SDVariable, QuantSpec, ActivationGradient)}), INT per tensor:
 * LSQ (signed grid for symmetric specs, unsigned {@code Qn = 0, Qp = 2^b-1} for asymmetric ones), or LSQ with
 * LSQ+'s learned offset β (Bhalgat et al., CVPRW 2020, "LSQ+", sec. 3.2: {@code â = ⌊clip((a-β)/s, -Qn, Qp)⌉·s + β},
 * ∂â/∂β = 0 inside, 1 outside), g with N the features per example. The steps (and β) are set from the first training batch, as the DL4J path does (LSQ
 * {@code 2⟨|a|⟩/sqrt(Qp)}, LSQ+ the batch's min-max range); an attached listener does it at the start of the
 * first {@code sd.fit} iteration, or call {@link #initializeActivations}.
 *
 * <p>Observed activations ({@link #fakeQuantActivation(SDVariable, QuantSpec, ObserverKind, ObserverOptions)}), INT
 * per tensor, as the DL4J path with {@code QatConfig.observer} and PyTorch's {@code FakeQuantize}: one of the DL4J
 * path's observers ({@link ObserverKind}: min-max, moving-average min-max, percentile, MSE; parameters and
 * freeze-after in {@link ObserverOptions}, or {@link ObserverOptions#of} a {@code QatConfig}) takes each training
 * batch's activation at the start of the iteration, before its forward pass, and core's {@code IntGrid.fitRange}
 * of its range is the grid that iteration quantizes with (observe, update, quantize: no lag; the extra cost is one
 * inference pass up to each observed activation per iteration until the observers freeze). The grid lives in graph
 * constants; {@code sd.output} reads it without updating, and passes the activation unquantized until the first
 * observation. Backward: the clipped STE ({@code fake_quantize_per_tensor_affine}'s), or the STE.
 *
 * <p>The gradient scale uses {@code sg(s) + (s·g - sg(s·g))} rather than {@code s·g + sg(s - s·g)}: the same
 * gradient, and a forward value that is {@code s} bit for bit, so the fake-quantized values equal what
 * {@link #convert} stores and {@link #dequantizedGraph} computes.
 */
public final class SameDiffQat {
    static final String STEP_SUFFIX = "/lsq_step";
    static final String OFFSET_SUFFIX = "/lsq_offset";
    static final String STORED_STEP_SUFFIX = "/lsq_step_stored";
    static final String OUTPUT_SUFFIX = "/fq";
    static final String BYPASS_SUFFIX = "/fq_on";
    /** Name suffix of the float {@code [scale, zero point, offset]} triple of an activation grid, as in the DL4J path. */
    public static final String ACTIVATION_SUFFIX = "/activation";

    private final SameDiff sd;
    private final Map<String, WeightNode> weights = new LinkedHashMap<>();
    private final Map<String, ActivationNode> activations = new LinkedHashMap<>();

    private SameDiffQat(SameDiff sd) {
        this.sd = sd;
    }

    /**
     * The QAT builder of {@code sd}: the same instance for the same graph, kept in a listener attached to it (which
     * initialises the activation steps on the first training batch).
     */
    public static synchronized SameDiffQat of(SameDiff sd) {
        SameDiffQat qat = attached(sd);
        if (qat == null) {
            qat = new SameDiffQat(sd);
            sd.addListeners(new ActivationInitListener(qat));
        }
        return qat;
    }

    private static SameDiffQat attached(SameDiff sd) {
        if (sd.getListeners() != null) {
            for (org.nd4j.autodiff.listeners.Listener l : sd.getListeners()) {
                if (l instanceof ActivationInitListener a && a.qat().sd == sd) {
                    return a.qat();
                }
            }
        }
        return null;
    }

    /** {@code of(sd).convert()} for a graph built with {@link #of}. */
    public static QuantizedModel convert(SameDiff sd) {
        SameDiffQat qat = attached(sd);
        if (qat == null || (qat.weights.isEmpty() && qat.activations.isEmpty())) {
            List<String> orphans = sd.variableMap().keySet().stream().filter(n -> n.endsWith(OUTPUT_SUFFIX)).toList();
            if (!orphans.isEmpty()) {
                throw new QuantizationException("the SameDiff graph has fake-quant nodes " + orphans + " but no SameDiffQat"
                        + " attached: its quantizers' state lives in the SameDiffQat that built them and is not saved"
                        + " with the graph (sd.save); convert with that instance before saving");
            }
            throw new QuantizationException("the SameDiff graph holds no fake quantizer: build it with "
                    + "SameDiffQat.of(sd).fakeQuantWeight/fakeQuantActivation before converting");
        }
        return qat.convert();
    }

    public SameDiff sameDiff() {
        return sd;
    }

    /** {@link #fakeQuantWeight(SDVariable, QuantSpec, WeightGradient, SdWeightLayout)} with the layout of the weight's rank: {@code [in, out]} (rank 2) or ND4J's conv2d {@code [kH, kW, in, out]} (rank 4). */
    public SDVariable fakeQuantWeight(SDVariable w, QuantSpec spec, WeightGradient gradient) {
        INDArray arr = weightArray(w);
        SdWeightLayout layout = SdWeightLayout.defaultFor(arr.rank());
        if (layout == null) {
            throw new InvalidTensorException("weight '" + w.name() + "' has shape " + java.util.Arrays.toString(arr.shape())
                    + ": SameDiff QAT takes [in, out] matrices (sd.mmul(x, w)) and rank-4 conv2d kernels");
        }
        return fakeQuantWeight(w, spec, gradient, layout);
    }

    /**
     * The fake-quantized weight to use in place of {@code w} (a trainable variable). Its output channel is
     * {@code layout}'s channel axis.
     *
     * @throws InvalidSpecException   for specs other than INT per tensor / per channel with FP32, FP16 or BF16 scales
     *                                (and a UINT zero point when asymmetric), or LSQ on an asymmetric spec
     * @throws InvalidTensorException if {@code w} is not a trainable variable with a float32 array of the layout's
     *                                rank, or is already fake-quantized
     */
    public SDVariable fakeQuantWeight(SDVariable w, QuantSpec spec, WeightGradient gradient, SdWeightLayout layout) {
        INDArray arr = weightArray(w);
        checkWeightSpec(w.name(), spec, gradient);
        if (arr.rank() != layout.rank()) {
            throw new InvalidTensorException("weight '" + w.name() + "' has rank " + arr.rank() + ", layout " + layout
                    + " needs rank " + layout.rank());
        }
        if (weights.containsKey(w.name())) {
            throw new InvalidTensorException("weight '" + w.name() + "' is fake-quantized twice; reuse the first output");
        }
        WeightNode node = new WeightNode(w.name(), spec, gradient, layout);
        SDVariable q = gradient == WeightGradient.LSQ ? lsqWeight(w, arr, node) : minMaxWeight(w, node);
        SDVariable on = sd.constant(w.name() + BYPASS_SUFFIX, Nd4j.scalar(DataType.FLOAT, 1f));
        // on = 1: exactly q; on = 0 (dequantizedGraph): exactly w, which then holds the dequantized weight
        SDVariable out = SdOps.select(on, q, w);
        out = sd.identity(w.name() + OUTPUT_SUFFIX, out);
        weights.put(w.name(), node);
        return out;
    }

    private INDArray weightArray(SDVariable w) {
        if (w.getSameDiff() != sd) {
            throw new InvalidTensorException("variable '" + w.name() + "' belongs to another SameDiff graph");
        }
        if (w.getVariableType() != VariableType.VARIABLE) {
            throw new InvalidTensorException("'" + w.name() + "' is a " + w.getVariableType()
                    + ", not a weight: fake-quantize trainable variables (sd.var), and activations with fakeQuantActivation");
        }
        INDArray arr = w.getArr();
        if (arr == null || arr.dataType() != DataType.FLOAT) {
            throw new InvalidTensorException("weight '" + w.name() + "' must hold a float32 array, has "
                    + (arr == null ? "none" : arr.dataType()));
        }
        return arr;
    }

    private static void checkWeightSpec(String name, QuantSpec spec, WeightGradient gradient) {
        if (spec.format() != Format.INT) {
            throw new InvalidSpecException("weight '" + name + "': SameDiff QAT fake-quantizes INT grids, not "
                    + spec.shortName() + (gradient == WeightGradient.LSQ ? " (LSQ learns a uniform step)" : "")
                    + "; NF4/FP8/FP4/ternary weights train through Qat.prepare on DL4J networks");
        }
        if (spec.granularity().kind() == Granularity.Kind.GROUP) {
            throw new InvalidSpecException("weight '" + name + "': " + spec.shortName()
                    + ": SameDiff QAT supports per-tensor and per-output-channel scales, not groups");
        }
        if (!SdOps.supported(spec.scaleEncoding())) {
            throw new InvalidSpecException("weight '" + name + "': " + spec.scaleEncoding()
                    + " scales cannot be rounded in the graph; use FP32, FP16 or BF16 scales");
        }
        if (!spec.symmetric() && spec.zeroEncoding() != NumberEncoding.UINT) {
            throw new InvalidSpecException("weight '" + name + "': SameDiff QAT keeps integer (UINT) zero points, not "
                    + spec.zeroEncoding());
        }
        if (gradient == WeightGradient.LSQ && !spec.symmetric()) {
            throw new InvalidSpecException("weight '" + name + "': LSQ weights use the symmetric INT grid, not "
                    + spec.shortName());
        }
    }

    /** Block reduction axes: every axis (per tensor) or every axis but the output channel. */
    private static int[] reduceAxes(QuantSpec spec, SdWeightLayout layout) {
        if (spec.granularity().kind() == Granularity.Kind.TENSOR) {
            int[] all = new int[layout.rank()];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        return layout.blockAxes();
    }

    /** IntGrid's min-max fake quantization of the current weight, straight through to {@code w}. */
    private SDVariable minMaxWeight(SDVariable w, WeightNode node) {
        QuantSpec spec = node.spec;
        int[] axes = reduceAxes(spec, node.layout);
        int maxCode = (1 << spec.bits()) - 1;
        SDVariable wc = SdOps.stop(sd, w);
        SDVariable exact;
        SDVariable lo = null;
        if (spec.symmetric()) {
            SDVariable amax = sd.max(sd.math().abs(wc), true, axes).castTo(DataType.DOUBLE);
            exact = amax.mul(2.0).div(maxCode);
        } else {
            SDVariable zero = sd.constant(Nd4j.scalar(DataType.FLOAT, 0f));
            lo = sd.math().min(sd.min(wc, true, axes), zero).castTo(DataType.DOUBLE);
            SDVariable hi = sd.math().max(sd.max(wc, true, axes), zero).castTo(DataType.DOUBLE);
            exact = hi.sub(lo).div(maxCode);
        }
        SDVariable scale = SdOps.roundUp(sd, SdOps.roundUpToFloat(exact), spec.scaleEncoding());
        scale = scale.add(exact.eq(0.0).castTo(DataType.FLOAT)); // an all-zero block gets scale 1
        SDVariable v = wc.div(scale);
        SDVariable q;
        if (spec.symmetric()) {
            q = sd.math().clipByValue(v, -(1 << (spec.bits() - 1)), maxCode - (1 << (spec.bits() - 1)));
        } else {
            SDVariable z = sd.math().clipByValue(SdOps.rintDouble(sd, lo.neg().div(scale.castTo(DataType.DOUBLE))),
                    0.0, maxCode).castTo(DataType.FLOAT);
            q = sd.math().min(sd.math().max(v, z.neg()), z.rsub((double) maxCode));
        }
        SDVariable value = SdOps.rint(sd, q).mul(scale);
        return SdOps.straightThrough(sd, value, w);
    }

    /** LSQ (eq. 1-5) with one trainable step per block. */
    private SDVariable lsqWeight(SDVariable w, INDArray arr, WeightNode node) {
        QuantSpec spec = node.spec;
        float qn = 1 << (spec.bits() - 1);
        float qp = qn - 1;
        int[] axes = reduceAxes(spec, node.layout);
        INDArray meanAbs = org.nd4j.linalg.ops.transforms.Transforms.abs(arr, true).mean(true, axes);
        INDArray init = meanAbs.muli(2.0 / Math.sqrt(qp)); // sec. 2.1: 2⟨|w|⟩/sqrt(Qp)
        org.nd4j.linalg.ops.transforms.Transforms.max(init, Float.MIN_NORMAL, false);
        long blockSize = arr.length() / init.length();
        SDVariable step = sd.var(w.name() + STEP_SUFFIX, init.castTo(DataType.FLOAT));
        node.stepVar = step.name();
        SDVariable stored = sd.identity(w.name() + STORED_STEP_SUFFIX, SdOps.stop(sd, storedStep(step, spec.scaleEncoding())));
        node.storedStepVar = stored.name();
        SDVariable s = scaledParameter(step, stored,
                sd.constant(Nd4j.scalar(DataType.FLOAT, (float) (1.0 / Math.sqrt((double) blockSize * qp)))));
        return lsqGrid(w, s, null, qn, qp);
    }

    /** {@code ⌊clip((v - β)/s, -Qn, Qp)⌉·s (+ β)} with the rounding straight through. */
    private SDVariable lsqGrid(SDVariable v, SDVariable s, SDVariable beta, float qn, float qp) {
        SDVariable centred = beta == null ? v : v.sub(beta);
        // forward: IntGrid's v/s; backward: v·(1/s), because SameDiff 1.0.0-M2.1's div gradient is wrong for a
        // divisor broadcast over the whole tensor (-Σc/s instead of -Σc·v/s², see SameDiffOpsProbeTest)
        SDVariable u = SdOps.straightThrough(sd, centred.div(s), centred.mul(sd.math().reciprocal(s)));
        SDVariable c = sd.math().clipByValue(u, -qn, qp);
        SDVariable r = SdOps.straightThrough(sd, SdOps.rint(sd, c), c);
        SDVariable out = r.mul(s);
        return beta == null ? out : out.add(beta);
    }

    /** Forward {@code value} exactly; backward {@code g·∂/∂p} (LSQ sec. 2.2). */
    private SDVariable scaledParameter(SDVariable p, SDVariable value, SDVariable g) {
        return SdOps.straightThrough(sd, value, p.mul(g));
    }

    /** Core LSQ's stored step: rounded to the scale encoding, or its smallest positive value if that is not positive. */
    private SDVariable storedStep(SDVariable step, NumberEncoding e) {
        SDVariable r = SdOps.roundTo(step, e);
        SDVariable positive = r.gt(0.0).castTo(DataType.FLOAT);
        SDVariable floor = sd.constant(Nd4j.scalar(DataType.FLOAT, SdOps.smallestStep(e)));
        return SdOps.select(positive, r, r.mul(0.0).add(floor));
    }

    /**
     * The activation {@code a} fake-quantized per tensor with a learned step ({@link ActivationGradient#LSQ}) or
     * a learned step and offset ({@link ActivationGradient#LSQ_PLUS}, asymmetric specs). Place it where the
     * deployed model quantizes (after the activation function, Jacob et al. 2018 sec. 3).
     *
     * @throws InvalidSpecException for specs other than INT per tensor, observer-based gradients, or LSQ+ on a
     *                              symmetric spec
     */
    public SDVariable fakeQuantActivation(SDVariable a, QuantSpec spec, ActivationGradient gradient) {
        String name = a.name();
        checkActivation(a, spec);
        if (gradient != ActivationGradient.LSQ && gradient != ActivationGradient.LSQ_PLUS) {
            throw new InvalidSpecException("activation '" + name + "': " + gradient + " needs an observed range: use "
                    + "fakeQuantActivation(a, spec, ObserverKind, ObserverOptions)");
        }
        if (gradient == ActivationGradient.LSQ_PLUS && spec.symmetric()) {
            throw new InvalidSpecException("activation '" + name + "': LSQ+ learns an offset for asymmetric activations; "
                    + spec.shortName() + " is symmetric (use LSQ, or an asymmetric spec)");
        }
        if (!SdOps.supported(spec.scaleEncoding())) {
            throw new InvalidSpecException("activation '" + name + "': " + spec.scaleEncoding()
                    + " steps cannot be rounded in the graph; use FP32, FP16 or BF16");
        }
        float zero = spec.symmetric() ? 1 << (spec.bits() - 1) : 0;
        float qn = zero;
        float qp = (1 << spec.bits()) - 1 - zero;
        ActivationNode node = new ActivationNode(name, spec, gradient, zero, qn, qp);
        // NaN until initialised: a graph trained or run without initialisation fails loudly
        SDVariable step = sd.var(name + STEP_SUFFIX, Nd4j.scalar(DataType.FLOAT, Float.NaN));
        node.stepVar = step.name();
        SDVariable features = a.length().castTo(DataType.FLOAT).div(sd.sizeAt(a, 0).castTo(DataType.FLOAT));
        SDVariable g = SdOps.stop(sd, sd.math().rsqrt(features.mul((double) qp)));
        SDVariable stored = sd.identity(name + STORED_STEP_SUFFIX, SdOps.stop(sd, storedStep(step, spec.scaleEncoding())));
        node.storedStepVar = stored.name();
        SDVariable s = scaledParameter(step, stored, g);
        SDVariable beta = null;
        if (gradient == ActivationGradient.LSQ_PLUS) {
            SDVariable offset = sd.var(name + OFFSET_SUFFIX, Nd4j.scalar(DataType.FLOAT, Float.NaN));
            node.offsetVar = offset.name();
            beta = scaledParameter(offset, SdOps.stop(sd, offset), g);
        }
        SDVariable out = sd.identity(name + OUTPUT_SUFFIX, lsqGrid(a, s, beta, qn, qp));
        activations.put(name, node);
        return out;
    }

    /**
     * {@link #fakeQuantActivation(SDVariable, QuantSpec, ObserverKind, ObserverOptions)} with
     * {@link ObserverOptions#defaults()} (clipped STE, c = 0.01, 99.99th percentile, 2048 bins, never frozen).
     */
    public SDVariable fakeQuantActivation(SDVariable a, QuantSpec spec, ObserverKind observer) {
        return fakeQuantActivation(a, spec, observer, ObserverOptions.defaults());
    }

    /**
     * The activation {@code a} fake-quantized per tensor on the INT grid of an observed range, as the DL4J path's
     * observed activations and PyTorch's {@code FakeQuantize} with a min-max, moving-average, percentile or MSE
     * observer: at the start of every {@code sd.fit} iteration (until the observer freezes after
     * {@code options.freezeAfter()} batches), the attached listener computes {@code a} on that iteration's batch,
     * the observer takes it, and core's {@code IntGrid.fitRange(min(lo, 0), max(hi, 0))} of its range becomes the
     * grid the iteration's forward pass quantizes with (observe, update, then quantize: no lag); {@code sd.output}
     * uses the current grid without updating it, and passes {@code a} unquantized before any observation.
     * Backward: the clipped STE ({@code ∂â/∂a = 1} where the rounded code lies on the grid, else 0) or the STE.
     * The grid is held in the scalar graph constants {@code <a>/obs_scale}, {@code <a>/obs_zero} (code space) and
     * {@code <a>/fq_on}, rewritten in place after each observation.
     *
     * @throws InvalidSpecException   for specs other than INT per tensor, or bad observer options
     * @throws InvalidTensorException if {@code a} is not float32, belongs to another graph or is already quantized
     */
    public SDVariable fakeQuantActivation(SDVariable a, QuantSpec spec, ObserverKind observer, ObserverOptions options) {
        String name = a.name();
        checkActivation(a, spec);
        if (a.dataType() != DataType.FLOAT) {
            throw new InvalidTensorException("activation '" + name + "' is " + a.dataType()
                    + "; observed activation quantization takes float32");
        }
        SdObservedActivation observed = new SdObservedActivation(spec, observer, options);
        ActivationNode node = new ActivationNode(name, spec, options.gradient(), observed);
        SDVariable out = sd.identity(name + OUTPUT_SUFFIX, observed.build(sd, a, name));
        activations.put(name, node);
        return out;
    }

    private void checkActivation(SDVariable a, QuantSpec spec) {
        String name = a.name();
        if (a.getSameDiff() != sd) {
            throw new InvalidTensorException("variable '" + name + "' belongs to another SameDiff graph");
        }
        if (spec.format() != Format.INT || spec.granularity().kind() != Granularity.Kind.TENSOR) {
            throw new InvalidSpecException("activation '" + name + "': QAT activation quantization is INT per tensor, not "
                    + spec.shortName());
        }
        if (activations.containsKey(name)) {
            throw new InvalidTensorException("activation '" + name + "' is fake-quantized twice; reuse the first output");
        }
    }

    /**
     * Whether every activation quantizer has its grid: LSQ steps initialised from data, observers that have seen a
     * batch.
     */
    public boolean activationsInitialized() {
        return activations.values().stream().allMatch(n -> n.initialised);
    }

    /**
     * What the attached listener does at the start of each training iteration, on its batch: in the order the
     * quantizers were added (so each sees the activations before it quantized on their updated grids), initialises
     * the LSQ steps not yet initialised ({@link #initializeActivations}) and feeds the batch's activation to every
     * observer not yet frozen, updating its grid. Call it yourself to calibrate observers outside {@code sd.fit}.
     * The activations are computed with {@code sd.output}, i.e. in inference mode (random ops such as dropout draw
     * their own masks, not the training pass's).
     *
     * @throws InvalidTensorException if an activation is not finite
     */
    public void observeActivations(Map<String, INDArray> placeholders) {
        for (ActivationNode n : activations.values()) {
            if (n.observed == null) {
                if (!n.initialised) {
                    initialise(n, placeholders);
                }
            } else if (!n.observed.observer.isFrozen()) {
                n.observed.observe(sd, n.name, sd.output(placeholders, n.name).get(n.name));
                n.initialised = true;
            }
        }
    }

    /** Whether a training batch has work to do: an LSQ step to initialise or an observer not frozen. */
    boolean needsBatch() {
        return activations.values().stream()
                .anyMatch(n -> n.observed == null ? !n.initialised : !n.observed.observer.isFrozen());
    }

    /**
     * Initialises the steps (and LSQ+ offsets) of the activation quantizers not yet initialised from one batch, in
     * the order they were added (each sees the already quantized activations before it), as the DL4J path does on
     * the first training batch: LSQ {@code 2⟨|a|⟩/sqrt(Qp)} (Esser et al. sec. 2.1), LSQ+ {@code β = min(a)},
     * {@code s = (max(a) - min(a))/(2^b-1)} (Bhalgat et al., the min-max option).
     *
     * @throws InvalidTensorException if the batch's activations are not finite or all equal under LSQ+
     */
    public void initializeActivations(Map<String, INDArray> placeholders) {
        for (ActivationNode n : activations.values()) {
            if (!n.initialised && n.observed == null) {
                initialise(n, placeholders);
            }
        }
    }

    private void initialise(ActivationNode n, Map<String, INDArray> placeholders) {
        INDArray a = sd.output(placeholders, n.name).get(n.name).castTo(DataType.FLOAT);
        float step;
        float offset = 0f;
        if (n.gradient == ActivationGradient.LSQ_PLUS) {
            offset = a.minNumber().floatValue();
            step = (a.maxNumber().floatValue() - offset) / ((1 << n.spec.bits()) - 1);
        } else {
            step = (float) (2.0 * org.nd4j.linalg.ops.transforms.Transforms.abs(a, true).meanNumber().doubleValue()
                    / Math.sqrt(n.qp));
        }
        if (!(step > 0f) || !Float.isFinite(step) || !Float.isFinite(offset)) {
            throw new InvalidTensorException("activation '" + n.name + "': cannot initialise its LSQ step from the batch "
                    + "(step " + step + ", offset " + offset + "); the activations are not finite or all zero");
        }
        sd.getVariable(n.stepVar).getArr().assign(step);
        if (n.offsetVar != null) {
            sd.getVariable(n.offsetVar).getArr().assign(offset);
        }
        n.initialised = true;
    }

    /**
     * Real low-bit weights and learned or observed activation grids:
     * <ul>
     * <li>each fake-quantized weight, by its variable name, as a {@code QuantizedTensor} in core's {@code [out, in...]}
     *     layout (an {@code [in, out]} matrix transposed, a YXIO kernel permuted to OIYX), with exactly the scales
     *     the fake quantization used (min-max: core's {@code Quantizer} refits IntGrid from the same weight; LSQ:
     *     the learned steps as the forward pass rounded them);</li>
     * <li>each quantized activation as {@code "<activation>/activation"}: the float triple {@code [scale, zero point,
     *     offset]} (zero point in code space, {@code 2^(b-1)} when symmetric), as the DL4J path stores it; for an
     *     observed activation, the grid the graph currently quantizes with;</li>
     * <li>every other trainable variable (biases...) as a {@code FloatTensor}.</li>
     * </ul>
     * Metadata {@code method=qat} and {@code qat.samediff} (the quantizers, JSON).
     *
     * @throws QuantizationException if an activation step has not been initialised or an observer has seen no
     *                               batch (train or call {@link #observeActivations} first)
     */
    public QuantizedModel convert() {
        return SameDiffQatConversion.convert(this);
    }

    /**
     * A copy of the graph that runs in float on {@code model}'s tensors: each fake-quantized weight holds its
     * dequantized values and its fake quantization is switched off, the other variables and the activation grids
     * come from {@code model}. Its outputs equal the fake-quantized graph's.
     *
     * @throws InvalidTensorException if {@code model} lacks a tensor the graph needs, or a shape differs
     */
    public SameDiff dequantizedGraph(QuantizedModel model) {
        return SameDiffQatConversion.dequantizedGraph(this, model);
    }

    Map<String, WeightNode> weights() {
        return weights;
    }

    Map<String, ActivationNode> activations() {
        return activations;
    }

    /** Names of the variables the quantizers own (steps, offsets): not model tensors of their own. */
    List<String> quantizerVariables() {
        List<String> out = new ArrayList<>();
        weights.values().forEach(n -> { if (n.stepVar != null) out.add(n.stepVar); });
        activations.values().forEach(n -> {
            if (n.stepVar != null) out.add(n.stepVar);
            if (n.offsetVar != null) out.add(n.offsetVar);
        });
        return out;
    }

    /** A fake-quantized weight. */
    static final class WeightNode {
        final String name;
        final QuantSpec spec;
        final WeightGradient gradient;
        final SdWeightLayout layout;
        String stepVar;
        String storedStepVar;

        WeightNode(String name, QuantSpec spec, WeightGradient gradient, SdWeightLayout layout) {
            this.name = name;
            this.spec = spec;
            this.gradient = gradient;
            this.layout = layout;
        }
    }

    /** A fake-quantized activation. */
    static final class ActivationNode {
        final String name;
        final QuantSpec spec;
        final ActivationGradient gradient;
        final float zero;
        final float qn;
        final float qp;
        String stepVar;
        String storedStepVar;
        String offsetVar;
        /** The observer and its graph constants; null for LSQ. */
        final SdObservedActivation observed;
        boolean initialised;

        ActivationNode(String name, QuantSpec spec, ActivationGradient gradient, float zero, float qn, float qp) {
            this.name = name;
            this.spec = spec;
            this.gradient = gradient;
            this.zero = zero;
            this.qn = qn;
            this.qp = qp;
            this.observed = null;
        }

        /** An observed activation: its grid changes with the observer. */
        ActivationNode(String name, QuantSpec spec, ActivationGradient gradient, SdObservedActivation observed) {
            this.name = name;
            this.spec = spec;
            this.gradient = gradient;
            this.zero = Float.NaN;
            this.qn = Float.NaN;
            this.qp = Float.NaN;
            this.observed = observed;
        }
    }
}
