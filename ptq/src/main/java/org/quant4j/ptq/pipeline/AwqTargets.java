package org.quant4j.ptq.pipeline;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.StoredWeight;
import org.quant4j.model.WeightTarget;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.awq.AwqFolding;
import org.quant4j.ptq.awq.AwqLoss;
import org.quant4j.ptq.awq.AwqScaleSearch;

/**
 * AWQ on a DL4J network in AutoAWQ's order ({@code AwqQuantizer.quantize}: all scales searched and applied, then
 * clip search, then quantization), every step on the float network's inputs:
 * <ol>
 *   <li>{@link #prepare}: per target, input-channel scales {@code s} from {@link AwqScaleSearch} (duo scaling,
 *       20-point grid) minimising the layer's own output error on its calibration reservoir rows
 *       ({@link AwqLoss#outputError}, as {@code BertPtq} does for the layers outside attention), with {@code s_x}
 *       the mean {@code |x|} over all calibration rows; a convolution gets one scale per input channel, shared by
 *       its {@code kh·kw} columns. Then all scales are applied ({@link #fold}): {@code W·diag(s)}, and {@code 1/s}
 *       folded into the previous Dense's rows and bias where {@link AwqFolds} finds that exact (so that Dense is
 *       quantized with its rows already divided), else kept as {@code <target>/input_scale};</li>
 *   <li>{@link #solve}: the clip search and round-to-nearest of the stored weight ({@link Awq#quantizeScaled}), or
 *       with {@link Awq#gptq()} set GPTQ on the stored weight with the scaled inputs' Hessian
 *       {@code diag(1/s)·H·diag(1/s)} (the statistics always carry a Hessian: {@code CalibrationRunner} collects
 *       it).</li>
 * </ol>
 * The output error is reported in the layer's original domain: {@code W} against
 * {@code diag(r)·Q(stored)·diag(1/s)}, {@code r} being the scales of the next target folded into its rows.
 */
final class AwqTargets implements TargetSolver {
    private final Awq awq;
    private final Map<String, Scaled> scaled;

    AwqTargets(Awq awq) {
        this(awq, Map.of());
    }

    private AwqTargets(Awq awq, Map<String, Scaled> scaled) {
        this.awq = awq;
        this.scaled = scaled;
    }

    /**
     * A target after {@link #fold}.
     *
     * @param original  the float weight before scaling, {@code [out, in...]}
     * @param stored    the weight to quantize, {@code [out, in·kh·kw]}: {@code diag(1/r)·W·diag(s)}
     * @param scales    {@code s}, one per input channel
     * @param rowScales {@code r}, the next target's scales folded into this one's rows (null when none)
     * @param folded    whether {@code 1/s} lives in the previous layer (else {@code s} is stored)
     * @param note      where the scales went
     */
    record Scaled(INDArray original, INDArray stored, float[] scales, float[] rowScales, boolean folded, String note) {}

    @Override public String name() { return awq.name(); }
    @Override public String description() { return awq.toString(); }
    @Override public boolean needsCalibration() { return true; }
    @Override public boolean floatInputs() { return true; }

    @Override
    public TargetSolver prepare(Dl4jNetwork view, AwqFolds folds, List<PtqPipeline.Plan> plans,
                                IntFunction<LayerStats> calibration) {
        Map<String, float[]> scales = new LinkedHashMap<>();
        Map<String, String> notes = new LinkedHashMap<>();
        for (int i = 0; i < plans.size(); i++) {
            WeightTarget t = plans.get(i).target();
            LayerStats stats = calibration.apply(i);
            INDArray w = matrix(view.weight(t));
            int perChannel = (int) (w.size(1) / view.weight(t).size(1));
            INDArray x = stats.sampleRows();
            AwqScaleSearch.Result r = awq.scaleSearch().search(t.name(), List.of(w), stats.meanAbs(), plans.get(i).spec(),
                    AwqLoss.outputError(x, List.of(w)), perChannel);
            float[] channels = new float[(int) view.weight(t).size(1)];
            for (int c = 0; c < channels.length; c++) {
                channels[c] = r.scales()[c * perChannel];
            }
            scales.put(t.name(), channels);
            notes.put(t.name(), String.format(Locale.ROOT, "awq alpha %s, search loss %.3e (unscaled %.3e)",
                    r.gridPoint() < 0 ? "none" : String.format(Locale.ROOT, "%.2f", r.alpha()), r.loss(), r.unscaledLoss()));
        }
        Map<String, Scaled> out = fold(view, folds, scales);
        out.replaceAll((name, s) -> new Scaled(s.original(), s.stored(), s.scales(), s.rowScales(), s.folded(),
                notes.get(name) + "; " + s.note()));
        return new AwqTargets(awq, out);
    }

    /**
     * Applies input-channel scales to the float network in {@code view} (which computes the same function after,
     * up to rounding): every target's columns are multiplied by its scales where {@code 1/s} is folded into the
     * previous Dense (rows and bias divided), the others keep their float weight and store {@code s}.
     */
    static Map<String, Scaled> fold(Dl4jNetwork view, AwqFolds folds, Map<String, float[]> scales) {
        Map<String, INDArray> originals = new LinkedHashMap<>();
        Map<String, float[]> rowScales = new LinkedHashMap<>();
        for (String name : scales.keySet()) {
            originals.put(name, view.weight(view.target(name)));
        }
        for (Map.Entry<String, float[]> e : scales.entrySet()) {
            String previous = folds.into(e.getKey());
            if (previous == null) {
                continue;
            }
            WeightTarget p = view.target(previous);
            WeightTarget t = view.target(e.getKey());
            INDArray bias = view.bias(p);
            AwqFolding.LinearParams folded = AwqFolding.foldIntoPreviousLinear(view.weight(p), bias, e.getValue());
            view.setWeight(p, folded.weight());
            if (bias != null) {
                bias.assign(folded.bias().castTo(bias.dataType()));
            }
            view.setWeight(t, AwqFolding.scaleColumns(view.weight(t), e.getValue()));
            rowScales.put(previous, e.getValue());
        }
        Map<String, Scaled> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : scales.entrySet()) {
            String name = e.getKey();
            WeightTarget t = view.target(name);
            INDArray current = matrix(view.weight(t));
            String previous = folds.into(name);
            float[] columns = columnScales(e.getValue(), (int) current.size(1));
            INDArray stored = previous != null ? current : AwqFolding.scaleColumns(current, columns);
            out.put(name, new Scaled(originals.get(name), stored, e.getValue(), rowScales.get(name), previous != null,
                    previous != null ? "1/s folded into " + previous : "input_scale stored (" + folds.reason(name) + ")"));
        }
        return out;
    }

    @Override
    public Solved solve(WeightTarget target, INDArray w, LayerStats stats, QuantSpec spec) {
        Scaled s = scaled.get(target.name());
        float[] columns = columnScales(s.scales(), (int) s.stored().size(1));
        Awq.LayerResult r = awq.quantizeScaled(target.name(), s.stored(), columns, stats, true, spec);
        QuantizedTensor q = r.scaled().tensor();
        long[] shape = s.original().shape();
        QuantizedTensor shaped = new QuantizedTensor(spec, shape, q.codes(), q.scales(), q.zeros(), q.globalScale(),
                q.hasGroupIndex() ? q.groupIndex() : null);
        StoredWeight grid = new StoredWeight.Grid(shaped);
        StoredWeight.InputScaled unscaled = new StoredWeight.InputScaled(grid, s.scales());
        StoredWeight stored = s.folded() ? grid : unscaled;
        float[] approximation = unscaled.effectiveWeight();
        if (s.rowScales() != null) {
            int cols = approximation.length / s.rowScales().length;
            for (int i = 0; i < approximation.length; i++) {
                approximation[i] *= s.rowScales()[i / cols];
            }
        }
        return new Solved(stored, stored.effectiveWeightArray(), s.original(),
                Nd4j.create(approximation, shape, DataType.FLOAT), s.note() + (awq.gptq() != null ? ", gptq" : r.clip() == null ? "" : ", clip searched"));
    }

    /** {@code [out, in...]} as the {@code [out, in·kh·kw]} matrix. */
    private static INDArray matrix(INDArray w) {
        return w.reshape('c', w.size(0), w.length() / w.size(0));
    }

    /** Channel scales repeated over each channel's {@code cols / channels} columns. */
    private static float[] columnScales(float[] channels, int cols) {
        int per = cols / channels.length;
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = channels[c / per];
        }
        return out;
    }
}
