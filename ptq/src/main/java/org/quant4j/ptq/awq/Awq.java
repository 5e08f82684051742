package org.quant4j.ptq.awq;

import org.quant4j.model.AwqFolding;
import org.quant4j.model.StoredWeight;
import org.quant4j.ptq.GridSolver;
import org.quant4j.ptq.RangeSearch;
import org.quant4j.ptq.gptq.Gptq;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * AWQ, Activation-aware Weight Quantization (Lin, Tang, Tang, Yang, Chen, Wang, Xiao, Dang, Gan, Han,
 * MLSys 2024; reference AutoAWQ {@code AwqQuantizer}): per group of layers that read one input,
 * <ol>
 *   <li>input-channel scales {@code s} from {@link AwqScaleSearch} (the caller folds {@code 1/s} into the
 *       op before the group, {@link AwqFolding}),</li>
 *   <li>per layer, clip values from {@link AwqClipSearch} on {@code W·diag(s)} and the scaled inputs
 *       {@code X·diag(1/s)} (AutoAWQ skips it for Q and K, whose error is seen through {@code QKᵀ}:
 *       {@link AwqLayer#clip()}),</li>
 *   <li>round-to-nearest of {@code W·diag(s)} on the spec's INT grid, block ranges clipped.</li>
 * </ol>
 * Specs: INT per channel or per group; AutoAWQ's default is 4-bit asymmetric groups of 128,
 * {@code QuantSpec.builder().bits(4).asymmetric().groupSize(128).build()}.
 *
 * <p><b>AWQ + GPTQ</b> ({@link Builder#gptq}): Lin et al. state that AWQ is orthogonal to GPTQ and report the
 * two combined (AWQ paper, the AWQ+GPTQ combination): AWQ's scales, then GPTQ as the quantizing step. Steps 2 and 3 are replaced by {@link Gptq} on
 * {@code W·diag(s)} with the Hessian of the scaled inputs {@code x·diag(1/s)},
 * {@code H_s = diag(1/s)·H·diag(1/s)} ({@code H} the statistics' {@code 2/n·XᵀX} of the unscaled inputs);
 * there is no clip search, GPTQ fits its ranges itself (min-max, or {@link RangeSearch#mse()} if its
 * builder says so). {@link #name()} is then {@code "awq+gptq"}.
 *
 * <p><b>Contract of the single-layer {@link #solve}:</b> the returned tensor stores {@code W·diag(s)}, so
 * its {@code dequantize()} approximates {@code W·diag(s)}, not {@code W}; the layer's input must be divided
 * by {@code s}. Use {@link #solveScaled} (which returns {@code s}) and fold, or write back
 * {@link InputScaledTensor#effectiveWeight()}. For one layer the search's loss is the layer's own output
 * error on the statistics' reservoir rows, its {@code s_x} the statistics' mean {@code |x|}.
 */
public final class Awq implements InputScaledSolver {
    /** Input rows the clip search uses at most (AutoAWQ {@code n_sample_token}); more are subsampled evenly. */
    public static final int DEFAULT_CLIP_ROWS = 512;

    private final AwqScaleSearch scaleSearch;
    private final AwqClipSearch clipSearch;
    private final boolean clip;
    private final int clipRows;
    private final Gptq gptq;

    /** The reference defaults: 20-point duo-scaling search, clip search (20 steps to 50%) on up to 512 rows. */
    public Awq() {
        this(new AwqScaleSearch(), new AwqClipSearch(), true, DEFAULT_CLIP_ROWS);
    }

    /**
     * @param clip     whether the single-layer {@link #solve} runs the clip search
     * @param clipRows input rows the clip search uses at most
     */
    public Awq(AwqScaleSearch scaleSearch, AwqClipSearch clipSearch, boolean clip, int clipRows) {
        this(builder().scaleSearch(scaleSearch).clipSearch(clipSearch).clip(clip).clipRows(clipRows));
    }

    private Awq(Builder b) {
        this.scaleSearch = b.scaleSearch;
        this.clipSearch = b.clipSearch;
        this.clip = b.clip;
        this.clipRows = b.clipRows;
        this.gptq = b.gptq;
    }

    /** Options of an {@link Awq}; the defaults are {@code new Awq()}'s. */
    public static Builder builder() {
        return new Builder();
    }

    /** The GPTQ that quantizes {@code W·diag(s)} in place of clip search and round-to-nearest, or null. */
    public Gptq gptq() {
        return gptq;
    }

    /** A layer of a scaled group: its name, {@code [out, in]} weight, and whether its ranges are clip-searched. */
    public record AwqLayer(String name, INDArray weight, boolean clip) {}

    /** One layer's outcome: the scaled tensor and its clip search (null when not clipped). */
    public record LayerResult(String name, InputScaledTensor scaled, AwqClipSearch.Result clip) {}

    /** A group's outcome: the scale search (whose scales every layer shares) and each layer's result. */
    public record GroupResult(AwqScaleSearch.Result scales, List<LayerResult> layers) {}

    /** {@code "awq"}, or {@code "awq+gptq"} with a GPTQ step. */
    @Override
    public String name() {
        return gptq == null ? "awq" : "awq+gptq";
    }

    @Override
    public boolean needsCalibration() {
        return true;
    }

    /**
     * {@inheritDoc} <b>Returns the quantization of {@code W·diag(s)}</b>, whose input must be divided by
     * {@code s}; see the class comment and {@link #solveScaled}.
     */
    @Override
    public QuantizedTensor solve(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        return solveScaled(layer, w, stats, spec).tensor();
    }

    @Override
    public InputScaledTensor solveScaled(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        return solveDetailed(layer, w, stats, spec).layers().get(0).scaled();
    }

    /** {@link #solveScaled} with the searches' reports. */
    public GroupResult solveDetailed(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        if (stats == null || stats.rowCount() == 0) {
            throw new InvalidTensorException("layer '" + layer + "': AWQ needs calibration statistics, but "
                    + (stats == null ? "none were given" : "no calibration rows were accumulated"));
        }
        if (w.rank() < 2 || w.length() == 0) {
            throw new InvalidTensorException("layer '" + layer + "': AWQ needs a non-empty [out, in] weight, got shape "
                    + Arrays.toString(w.shape()));
        }
        long in = w.length() / w.size(0);
        if (stats.inFeatures() != in) {
            throw new InvalidTensorException("layer '" + layer + "': the weight has " + in + " input columns (shape "
                    + Arrays.toString(w.shape()) + ") but the statistics were collected for " + stats.inFeatures()
                    + " inputs");
        }
        INDArray matrix = w.castTo(DataType.FLOAT).reshape('c', w.size(0), in);
        INDArray x = stats.sampleRows();
        GroupResult result = solveGroup(layer, List.of(new AwqLayer(layer, matrix, clip)), x, stats.meanAbs(),
                AwqLoss.outputError(x, List.of(matrix)), gptq == null ? null : hessianOf(layer, stats), spec);
        if (w.rank() == 2) {
            return result;
        }
        LayerResult only = result.layers().get(0);
        QuantizedTensor t = only.scaled().tensor();
        QuantizedTensor reshaped = new QuantizedTensor(spec, w.shape(), t.codes(), t.scales(), t.zeros(), t.globalScale(),
                t.hasGroupIndex() ? t.groupIndex() : null);
        return new GroupResult(result.scales(), List.of(new LayerResult(layer,
                new InputScaledTensor(reshaped, only.scaled().inputScales()), only.clip())));
    }

    /**
     * AWQ for a group of layers that read the same input {@code x}.
     *
     * @param group    names the group in error messages
     * @param layers   the group's layers, {@code [out_i, in]} weights (not modified)
     * @param x        calibration input rows {@code [rows, in]} (the clip search uses up to {@code clipRows} of them)
     * @param xMeanAbs mean {@code |x|} per input channel (over all calibration rows)
     * @param loss     the block error the scales minimise ({@link AwqLoss#outputError} for the layers' own error)
     * @return the shared scales (fold {@code 1/s} into the op before the group) and every layer's tensor of
     *         {@code W·diag(s)}; with a GPTQ step its Hessian is {@code 2/n·XᵀX} of the given rows
     */
    public GroupResult solveGroup(String group, List<AwqLayer> layers, INDArray x, float[] xMeanAbs, AwqLoss loss,
                                  QuantSpec spec) {
        return solveGroup(group, layers, x, xMeanAbs, loss, gptq == null ? null : gram(x), spec);
    }

    /**
     * {@link #solveGroup(String, List, INDArray, float[], AwqLoss, QuantSpec)} with the GPTQ step's Hessian taken
     * from {@code stats} (all calibration rows, not only the reservoir): {@code stats.hessian()}, whose
     * {@code sampleRows()} and {@code meanAbs()} are {@code x} and {@code xMeanAbs}.
     */
    public GroupResult solveGroup(String group, List<AwqLayer> layers, LayerStats stats, AwqLoss loss, QuantSpec spec) {
        return solveGroup(group, layers, stats.sampleRows(), stats.meanAbs(), loss,
                gptq == null ? null : hessianOf(group, stats), spec);
    }

    /** @param hessian the unscaled inputs' Hessian when there is a GPTQ step (scaled here, in place), else null */
    private GroupResult solveGroup(String group, List<AwqLayer> layers, INDArray x, float[] xMeanAbs, AwqLoss loss,
                                   INDArray hessian, QuantSpec spec) {
        if (layers.isEmpty()) {
            throw new InvalidTensorException("AWQ group '" + group + "' has no layers");
        }
        if (x.rank() != 2 || x.size(1) != xMeanAbs.length || x.rows() == 0) {
            throw new InvalidTensorException("AWQ group '" + group + "': input rows must be [rows, " + xMeanAbs.length
                    + "], got " + Arrays.toString(x.shape()));
        }
        List<INDArray> weights = new ArrayList<>();
        for (AwqLayer l : layers) {
            weights.add(l.weight());
        }
        AwqScaleSearch.Result scales = scaleSearch.search(group, weights, xMeanAbs, spec, loss);
        float[] s = scales.scales();
        INDArray scaledRows = gptq == null && layers.stream().anyMatch(AwqLayer::clip) ? clipRows(x, s) : null;
        INDArray scaledHessian = gptq == null ? null : scaleHessian(hessian, s);
        List<LayerResult> results = new ArrayList<>();
        for (AwqLayer l : layers) {
            INDArray ws = AwqFolding.scaleColumns(l.weight(), s);
            results.add(quantizeLayer(l.name(), ws, s, l.clip() ? scaledRows : null, scaledHessian, spec));
        }
        return new GroupResult(scales, List.copyOf(results));
    }

    /**
     * AWQ's quantizing step on an already scaled problem, as the PTQ runner calls it after applying the scales: the
     * weight is {@code W·diag(s)} and the statistics are those of {@code x·diag(1/s)}
     * ({@code LayerStats.inputsDividedBy}). With a GPTQ step that is the {@link Gptq}; otherwise the clip search on
     * up to {@code clipRows} reservoir rows (skipped, as AutoAWQ's {@code avoid_clipping}, for targets whose name
     * holds {@code q_}, {@code k_}, {@code query}, {@code key} or {@code Wqkv}: their error is seen through
     * {@code QKᵀ}) and round-to-nearest with the clipped ranges.
     */
    public GridSolver quantizer() {
        return gptq != null ? gptq : new ClipAndRound();
    }

    /** AutoAWQ {@code avoid_clipping}. */
    static final List<String> AVOID_CLIPPING = List.of("q_", "k_", "query", "key", "Wqkv");

    /** The clip search and round-to-nearest of {@link #quantizer()}. */
    private final class ClipAndRound implements GridSolver {
        @Override public String name() { return "awq"; }
        @Override public boolean needsCalibration() { return true; }
        @Override public boolean needsHessian() { return false; }

        @Override
        public Solution quantize(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
            return new Solution(new StoredWeight.Grid(solve(layer, w, stats, spec)), clips(layer) ? "clip searched"
                    : "no clip");
        }

        private boolean clips(String layer) {
            return clip && AVOID_CLIPPING.stream().noneMatch(layer::contains);
        }

        @Override
        public QuantizedTensor solve(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
            return clipAndRound(layer, w.castTo(DataType.FLOAT).dup('c'), clips(layer) ? pick(stats.sampleRows()) : null,
                    spec).tensor();
        }

        @Override
        public String toString() {
            return clip ? clipSearch + ", clipRows=" + clipRows : "no clip";
        }
    }

    /** Up to {@code clipRows} rows of {@code x}, evenly strided (AutoAWQ {@code input_feat[:, ::step]}). */
    private INDArray pick(INDArray x) {
        long rows = x.rows();
        long step = Math.max(1, rows / clipRows);
        return step == 1 ? x : x.get(NDArrayIndex.interval(0, step, rows), NDArrayIndex.all());
    }

    /** The scale search this solver runs (for pipelines that search the scales of several groups first). */
    public AwqScaleSearch scaleSearch() {
        return scaleSearch;
    }

    /**
     * Steps 2 and 3 for one layer whose input scales were searched and applied already (AutoAWQ's order for
     * a transformer block: every group's scales searched and applied, then {@code _search_best_clip}, then
     * {@code _apply_quant}): the clip search (when {@code clip}) on {@code scaledWeight} with up to
     * {@code clipRows} of the statistics' reservoir rows times {@code 1/s}, then round-to-nearest with the
     * clipped ranges. With a GPTQ step ({@link Builder#gptq}), instead GPTQ on {@code scaledWeight} with
     * {@code H_s = diag(1/s)·H·diag(1/s)}, {@code H} the statistics' Hessian ({@code clip} is then unused).
     * GPTQ works per output row, so rows already divided by a later group's scales need no special case.
     *
     * @param scaledWeight the weight as it will be stored, {@code [out, in]} (e.g. {@code W·diag(s)}, possibly
     *                     with rows divided by a later group's scales folded into it); not modified
     * @param s            the layer's input scales (the stored tensor expects its input divided by them)
     * @param stats        the statistics of the layer's unscaled inputs (with a Hessian when there is a GPTQ step)
     */
    public LayerResult quantizeScaled(String name, INDArray scaledWeight, float[] s, LayerStats stats, boolean clip,
                                      QuantSpec spec) {
        if (scaledWeight.rank() != 2 || stats == null || stats.rowCount() == 0 || stats.inFeatures() != scaledWeight.size(1)
                || s.length != scaledWeight.size(1)) {
            throw new InvalidTensorException("layer '" + name + "': AWQ needs an [out, in] weight, statistics of in"
                    + " inputs with calibration rows and in scales, got " + Arrays.toString(scaledWeight.shape()) + ", "
                    + (stats == null ? "no statistics" : stats.inFeatures() + " inputs (" + stats.rowCount() + " rows)")
                    + ", " + s.length + " scales");
        }
        INDArray ws = scaledWeight.castTo(DataType.FLOAT).dup('c');
        if (gptq != null) {
            return quantizeLayer(name, ws, s, null, scaleHessian(hessianOf(name, stats), s), spec);
        }
        return quantizeLayer(name, ws, s, clip ? clipRows(stats.sampleRows(), s) : null, null, spec);
    }

    /**
     * Steps 2 and 3 on {@code ws} ({@code [out, in]} float, c order): GPTQ on {@code scaledHessian} when there is a
     * GPTQ step, else the clip search on {@code scaledRows} (null: no clip search) and round-to-nearest.
     */
    private LayerResult quantizeLayer(String name, INDArray ws, float[] s, INDArray scaledRows, INDArray scaledHessian,
                                      QuantSpec spec) {
        if (gptq != null) {
            return new LayerResult(name, new InputScaledTensor(gptq.solveWithHessian(name, ws, scaledHessian, spec)
                    .tensor(), s), null);
        }
        Rounded r = clipAndRound(name, ws, scaledRows, spec);
        return new LayerResult(name, new InputScaledTensor(r.tensor(), s), r.clip());
    }

    /** A scaled weight rounded on the spec's grid, and its clip search (null when there was none). */
    private record Rounded(QuantizedTensor tensor, AwqClipSearch.Result clip) {}

    /**
     * Steps 2 and 3 without GPTQ on {@code ws} ({@code [out, in]} float, c order): the clip search on {@code scaledRows}
     * (null: none) and round-to-nearest with the clipped ranges.
     */
    private Rounded clipAndRound(String name, INDArray ws, INDArray scaledRows, QuantSpec spec) {
        AwqClipSearch.Result clipped = scaledRows != null ? clipSearch.search(name, ws, scaledRows, spec) : null;
        AwqGrid grid = AwqGrid.of(name, spec, (int) ws.size(0), (int) ws.size(1));
        return new Rounded(grid.quantize(ws.data().asFloat(), ws.shape(), clipped == null ? null : clipped.clip()),
                clipped);
    }

    /** A copy of the statistics' Hessian, refusing statistics collected without one. */
    private static INDArray hessianOf(String name, LayerStats stats) {
        if (!stats.hasHessian()) {
            throw new InvalidTensorException("layer '" + name + "': AWQ with a GPTQ step needs the inputs' Hessian, but"
                    + " the statistics were collected without one");
        }
        return stats.hessian();
    }

    /** {@code 2/n·XᵀX} of the rows {@code x} (as {@code LayerStats} accumulates it). */
    private static INDArray gram(INDArray x) {
        INDArray f = x.castTo(DataType.FLOAT);
        return f.transpose().mmul(f).muli(2.0 / x.rows());
    }

    /**
     * The Hessian of the scaled inputs {@code x·diag(1/s)}: {@code diag(1/s)·H·diag(1/s)}, in place on {@code h}
     * ({@code [n, n]} float), which it returns.
     */
    static INDArray scaleHessian(INDArray h, float[] s) {
        INDArray inverse = AwqFolding.inverse(s);
        return h.muliRowVector(inverse.reshape(1, s.length)).muliColumnVector(inverse.reshape(s.length, 1));
    }

    /** Up to {@code clipRows} rows of {@code x}, evenly strided (AutoAWQ {@code input_feat[:, ::step]}), times {@code 1/s}. */
    private INDArray clipRows(INDArray x, float[] s) {
        return AwqFolding.unscaleColumns(pick(x), s);
    }

    @Override
    public String toString() {
        return gptq != null ? "awq+gptq(" + scaleSearch + ", " + gptq + ")"
                : "awq(" + scaleSearch + ", " + (clip ? clipSearch : "no clip") + ", clipRows=" + clipRows + ")";
    }

    /** Options of {@link Awq}; the defaults are the reference's (AutoAWQ). */
    public static final class Builder {
        private AwqScaleSearch scaleSearch = new AwqScaleSearch();
        private AwqClipSearch clipSearch = new AwqClipSearch();
        private boolean clip = true;
        private int clipRows = DEFAULT_CLIP_ROWS;
        private Gptq gptq;

        private Builder() {
        }

        /** The input-scale search (default: duo scaling, 20-point grid). */
        public Builder scaleSearch(AwqScaleSearch scaleSearch) {
            this.scaleSearch = Objects.requireNonNull(scaleSearch, "scaleSearch");
            return this;
        }

        /** The clip search (default: grid 20, shrink below 50%). */
        public Builder clipSearch(AwqClipSearch clipSearch) {
            this.clipSearch = Objects.requireNonNull(clipSearch, "clipSearch");
            return this;
        }

        /** Whether the single-layer {@link Awq#solve} runs the clip search (default true). */
        public Builder clip(boolean clip) {
            this.clip = clip;
            return this;
        }

        /** Input rows the clip search uses at most (default {@value Awq#DEFAULT_CLIP_ROWS}). */
        public Builder clipRows(int clipRows) {
            if (clipRows < 1) {
                throw new InvalidSpecException("AWQ clip search needs at least one input row, got " + clipRows);
            }
            this.clipRows = clipRows;
            return this;
        }

        /**
         * Quantize {@code W·diag(s)} with this GPTQ (on the scaled inputs' Hessian) instead of clip search and
         * round-to-nearest; null (default) for plain AWQ.
         */
        public Builder gptq(Gptq gptq) {
            this.gptq = gptq;
            return this;
        }

        public Awq build() {
            return new Awq(this);
        }
    }
}
