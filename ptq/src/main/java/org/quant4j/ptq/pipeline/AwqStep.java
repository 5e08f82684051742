package org.quant4j.ptq.pipeline;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.ScaledTarget;
import org.quant4j.model.TargetGroup;
import org.quant4j.ptq.awq.AwqLoss;
import org.quant4j.ptq.awq.AwqScaleSearch;

/**
 * AWQ's scale step of one block, run by {@link PtqPipeline} before the block's targets are quantized, in AutoAWQ's
 * order ({@code AwqQuantizer.quantize}: every scale group's scales searched on the float block's inputs, then all
 * applied, then clip search and quantization of each target): per {@link ScaleGroup} the {@link AwqScaleSearch}
 * (duo scaling, 20-point grid) with {@code s_x} the mean {@code |x|} of the group's inputs and, as loss, the output
 * error of the module the group declares ({@link CalibrationPass#moduleLoss}) or else of the group's own targets
 * ({@link AwqLoss#gramError} on all calibration rows); then {@link QuantizableModel#applyScales}.
 */
final class AwqStep {
    private final AwqScaleSearch search;
    private final int lossSequences;

    AwqStep(AwqScaleSearch search, int lossSequences) {
        this.search = search;
        this.lossSequences = lossSequences;
    }

    /** The block's searched scales applied, and per target a note on the search. */
    record Applied(Map<String, ScaledTarget> targets, Map<String, String> notes) {}

    /**
     * @param stats per group of the block, the statistics of its float inputs (with the Hessian)
     * @param specs each target's spec
     * @param losses per scale group inspecting a module, its loss (made before the pass advanced)
     */
    Applied run(QuantizableModel model, int block, Map<TargetGroup, LayerStats> stats,
                Function<QuantTarget, QuantSpec> specs, Map<String, ToDoubleFunction<List<INDArray>>> losses) {
        Map<String, float[]> scales = new LinkedHashMap<>();
        Map<String, String> notes = new LinkedHashMap<>();
        for (ScaleGroup g : model.scaleGroups(block)) {
            LayerStats s = statsOf(stats, g);
            List<INDArray> weights = g.targets().stream().map(t -> matrix(model.weight(t))).toList();
            ToDoubleFunction<List<INDArray>> module = losses.get(g.name());
            AwqLoss loss = module != null ? module::applyAsDouble : AwqLoss.gramError(s.hessian().divi(2), weights);
            AwqScaleSearch.Result r = search.search(g.name(), weights, s.meanAbs(), specs.apply(g.targets().get(0)),
                    loss, g.columnsPerChannel());
            float[] channels = new float[r.scales().length / g.columnsPerChannel()];
            for (int c = 0; c < channels.length; c++) {
                channels[c] = r.scales()[c * g.columnsPerChannel()];
            }
            scales.put(g.name(), channels);
            notes.put(g.targets().get(0).name(), String.format(Locale.ROOT, "awq alpha %s, search loss %.3e (unscaled %.3e)",
                    r.gridPoint() < 0 ? "none" : String.format(Locale.ROOT, "%.2f", r.alpha()), r.loss(), r.unscaledLoss()));
        }
        return new Applied(model.applyScales(block, scales), notes);
    }

    /** Up to how many calibration sequences a module loss runs on. */
    int lossSequences() {
        return lossSequences;
    }

    private static LayerStats statsOf(Map<TargetGroup, LayerStats> stats, ScaleGroup g) {
        for (Map.Entry<TargetGroup, LayerStats> e : stats.entrySet()) {
            if (e.getKey().targets().contains(g.targets().get(0))) {
                return e.getValue();
            }
        }
        throw new IllegalStateException("no statistics for AWQ scale group " + g.name());
    }

    /** {@code [out, in...]} as the {@code [out, in·kh·kw]} matrix. */
    static INDArray matrix(INDArray w) {
        return w.reshape('c', w.size(0), w.length() / w.size(0));
    }

    @Override
    public String toString() {
        return search + ", module loss on up to " + lossSequences + " sequences";
    }
}
