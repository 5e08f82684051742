package org.quant4j.ptq;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
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

    /** The reference defaults: 20-point duo-scaling search, clip search (20 steps to 50%) on up to 512 rows. */
    public Awq() {
        this(new AwqScaleSearch(), new AwqClipSearch(), true, DEFAULT_CLIP_ROWS);
    }

    /**
     * @param clip     whether the single-layer {@link #solve} runs the clip search
     * @param clipRows input rows the clip search uses at most
     */
    public Awq(AwqScaleSearch scaleSearch, AwqClipSearch clipSearch, boolean clip, int clipRows) {
        if (clipRows < 1) {
            throw new InvalidSpecException("AWQ clip search needs at least one input row, got " + clipRows);
        }
        this.scaleSearch = Objects.requireNonNull(scaleSearch, "scaleSearch");
        this.clipSearch = Objects.requireNonNull(clipSearch, "clipSearch");
        this.clip = clip;
        this.clipRows = clipRows;
    }

    /** A layer of a scaled group: its name, {@code [out, in]} weight, and whether its ranges are clip-searched. */
    public record AwqLayer(String name, INDArray weight, boolean clip) {}

    /** One layer's outcome: the scaled tensor and its clip search (null when not clipped). */
    public record LayerResult(String name, InputScaledTensor scaled, AwqClipSearch.Result clip) {}

    /** A group's outcome: the scale search (whose scales every layer shares) and each layer's result. */
    public record GroupResult(AwqScaleSearch.Result scales, List<LayerResult> layers) {}

    @Override
    public String name() {
        return "awq";
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
                AwqLoss.outputError(x, List.of(matrix)), spec);
        if (w.rank() == 2) {
            return result;
        }
        LayerResult only = result.layers().get(0);
        QuantizedTensor t = only.scaled().tensor();
        QuantizedTensor reshaped = new QuantizedTensor(spec, w.shape(), t.codes(), t.scales(), t.zeros(), t.globalScale());
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
     *         {@code W·diag(s)}
     */
    public GroupResult solveGroup(String group, List<AwqLayer> layers, INDArray x, float[] xMeanAbs, AwqLoss loss,
                                  QuantSpec spec) {
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
        INDArray scaledRows = null;
        List<LayerResult> results = new ArrayList<>();
        for (AwqLayer l : layers) {
            INDArray ws = AwqFolding.scaleColumns(l.weight(), s);
            AwqClipSearch.Result clipped = null;
            if (l.clip()) {
                if (scaledRows == null) {
                    scaledRows = clipRows(x, s);
                }
                clipped = clipSearch.search(l.name(), ws, scaledRows, spec);
            }
            AwqGrid grid = AwqGrid.of(l.name(), spec, (int) ws.size(0), (int) ws.size(1));
            QuantizedTensor tensor = grid.quantize(ws.data().asFloat(), ws.shape(), clipped == null ? null : clipped.clip());
            results.add(new LayerResult(l.name(), new InputScaledTensor(tensor, s), clipped));
        }
        return new GroupResult(scales, List.copyOf(results));
    }

    /** The scale search this solver runs (for pipelines that search the scales of several groups first). */
    public AwqScaleSearch scaleSearch() {
        return scaleSearch;
    }

    /**
     * Steps 2 and 3 for one layer whose input scales were searched and applied already (AutoAWQ's order for
     * a transformer block: every group's scales searched and applied, then {@code _search_best_clip}, then
     * {@code _apply_quant}): the clip search (when {@code clip}) on {@code scaledWeight} with up to
     * {@code clipRows} rows of {@code x·diag(1/s)}, then round-to-nearest with the clipped ranges.
     *
     * @param scaledWeight the weight as it will be stored, {@code [out, in]} (e.g. {@code W·diag(s)}, possibly
     *                     with rows divided by a later group's scales folded into it); not modified
     * @param s            the layer's input scales (the stored tensor expects its input divided by them)
     * @param x            the layer's unscaled input rows {@code [rows, in]}
     */
    public LayerResult quantizeScaled(String name, INDArray scaledWeight, float[] s, INDArray x, boolean clip,
                                      QuantSpec spec) {
        if (scaledWeight.rank() != 2 || x.rank() != 2 || x.size(1) != scaledWeight.size(1) || s.length != x.size(1)
                || x.rows() == 0) {
            throw new InvalidTensorException("layer '" + name + "': AWQ needs an [out, in] weight, [rows, in] inputs and"
                    + " in scales, got " + Arrays.toString(scaledWeight.shape()) + ", " + Arrays.toString(x.shape())
                    + ", " + s.length + " scales");
        }
        INDArray ws = scaledWeight.castTo(DataType.FLOAT).dup('c');
        AwqClipSearch.Result clipped = clip ? clipSearch.search(name, ws, clipRows(x, s), spec) : null;
        AwqGrid grid = AwqGrid.of(name, spec, (int) ws.size(0), (int) ws.size(1));
        QuantizedTensor tensor = grid.quantize(ws.data().asFloat(), ws.shape(), clipped == null ? null : clipped.clip());
        return new LayerResult(name, new InputScaledTensor(tensor, s), clipped);
    }

    /** Up to {@code clipRows} rows of {@code x}, evenly strided (AutoAWQ {@code input_feat[:, ::step]}), times {@code 1/s}. */
    private INDArray clipRows(INDArray x, float[] s) {
        long rows = x.rows();
        long step = Math.max(1, rows / clipRows);
        INDArray picked = step == 1 ? x : x.get(NDArrayIndex.interval(0, step, rows), NDArrayIndex.all());
        float[] inverse = new float[s.length];
        for (int c = 0; c < s.length; c++) {
            inverse[c] = 1f / s[c];
        }
        return picked.castTo(DataType.FLOAT).dup('c').muliRowVector(Nd4j.create(inverse, new long[] {1, s.length}, 'c'));
    }

    @Override
    public String toString() {
        return "awq(" + scaleSearch + ", " + (clip ? clipSearch : "no clip") + ", clipRows=" + clipRows + ")";
    }
}
