package org.quant4j.ptq.bert;

import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.model.WeightTarget;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.LinearRole;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.ModelInputException;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.awq.AwqFolding;
import org.quant4j.ptq.awq.AwqLoss;
import org.quant4j.ptq.awq.AwqScaleSearch;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.hqq.Hqq;
import org.quant4j.ptq.OutputError;
import org.quant4j.ptq.rtn.Rtn;
import org.quant4j.ptq.WeightSolver;
import org.quant4j.ptq.pipeline.GroupFallback;
import org.quant4j.ptq.pipeline.LayerReport;
import org.quant4j.ptq.pipeline.PtqListener;
import org.quant4j.ptq.pipeline.PtqReport;

/**
 * Post-training quantization of all-MiniLM-L6-v2's 36 dense layers (per encoder layer: query, key, value,
 * attention output, FFN in, FFN out), layer by layer on calibration text, quantizing
 * {@link MiniLm#encoder()} in place; {@link BertPtqResult} holds the model file's content and a
 * {@link PtqReport}. The calibration sequences (sentences or passages) are tokenized once (truncated to {@link Builder#maxTokens})
 * and their hidden states are kept between layers, so the encoder is never rerun from the start.
 *
 * <p><b>rtn, gptq, hqq, claq</b> are "true sequential" as the GPTQ reference's {@code --true-sequential}
 * (IST-DASLab/gptq {@code bert}/{@code llama} scripts; Frantar et al. 2023, §4): per layer the groups
 * [Q, K, V] (one shared input capture and Hessian), [attention output], [FFN in], [FFN out] are calibrated
 * in order, each on inputs computed with every group before it already quantized, and the layer's output
 * with its quantized weights is the next layer's input. {@link Builder#sequential(boolean) sequential(false)}
 * calibrates every target on the float model's activations instead (to compare solvers on identical inputs).
 *
 * <p><b>awq</b> follows AutoAWQ's per-layer order ({@code AwqQuantizer.quantize}): the layer's inputs are
 * captured on the float layer (the hidden states move forward through the float layers, as AutoAWQ's
 * {@code self.inps}); the scales of all four groups are searched ({@link AwqScaleSearch}: duo scaling,
 * 20-point α grid, normalised by {@code sqrt(max·min)}) — Q/K/V's on the attention output
 * {@code attention.output.dense(selfAttention(x))} (AutoAWQ's {@code module2inspect=self_attn}), the others
 * on their own output error (computed from the inputs' Gram matrix, {@link AwqLoss#gramError}); then applied
 * ({@link BertAwqScales}); then the clip search (skipped for Q and K) and round-to-nearest
 * ({@link Awq#quantizeScaled}; with an {@link Awq} given to {@link Builder#solver} whose {@link Awq#gptq()} is
 * set, GPTQ on the scaled inputs' Hessian instead, for every target including Q and K). One departure from the
 * reference, for time: the Q/K/V loss runs on up to
 * {@link Builder#awqLossSequences} calibration passages (evenly spread over the length-sorted batches,
 * default {@value #DEFAULT_AWQ_LOSS_SEQUENCES}); the statistic {@code s_x} and the Gram losses use all tokens.
 *
 * <p>Per target the report holds the relative output error {@code ‖WX − ŴX‖²/‖WX‖²} on the target's
 * calibration reservoir (in-sample rows of the inputs it was calibrated on; for AWQ in the scaled domain:
 * the stored weight {@code W·diag(s)} against its quantization, on {@code X·diag(1/s)}), the times and the
 * stored bits per weight (for AWQ including the fp32 input scales).
 */
public final class BertPtq {
    public static final String MODEL_NAME = "all-MiniLM-L6-v2";
    public static final List<String> METHODS = List.of("rtn", "gptq", "hqq", "awq", "claq");
    public static final int DEFAULT_MAX_TOKENS = 128;
    public static final int DEFAULT_AWQ_LOSS_SEQUENCES = 16;
    /** Calibration sequences per forward. */
    static final int BATCH = 16;

    private final String method;
    private final QuantSpec spec;
    private final WeightSolver solver;
    private final Awq awq;
    private final Claq claq;
    private final List<String> calibration;
    private final String calibrationDescription;
    private final int maxTokens;
    private final GroupFallback groupFallback;
    private final PtqListener listener;
    private final long seed;
    private final boolean sequential;
    private final boolean biasCorrection;
    private final int reservoirRows;
    private final int awqLossSequences;

    private BertPtq(Builder b) {
        this.method = b.method;
        this.spec = b.spec;
        this.calibration = b.calibration;
        this.calibrationDescription = b.calibrationDescription;
        this.maxTokens = b.maxTokens;
        this.groupFallback = b.groupFallback;
        this.listener = b.listener;
        this.seed = b.seed;
        this.sequential = b.sequential;
        this.biasCorrection = b.biasCorrection;
        this.reservoirRows = b.reservoirRows;
        this.awqLossSequences = b.awqLossSequences;
        this.awq = method.equals("awq") ? (b.solver instanceof Awq a ? a : new Awq()) : null;
        this.claq = method.equals("claq") ? new Claq(b.claq == null ? ClaqParams.adaptive(2.5) : b.claq) : null;
        this.solver = b.solver != null ? b.solver : switch (method) {
            case "rtn" -> new Rtn();
            case "gptq" -> new Gptq();
            case "hqq" -> new Hqq();
            case "awq" -> awq;
            default -> null;
        };
    }

    /**
     * @param method one of {@link #METHODS}
     * @param spec   the weight spec (e.g. INT4 asymmetric, groups of 128); unused (may be null) for claq,
     *               whose widths come from {@link Builder#claq}
     * @throws InvalidSpecException for an unknown method or a missing spec
     */
    public static Builder builder(String method, QuantSpec spec) {
        return new Builder(method, spec);
    }

    /**
     * Quantizes {@code model.encoder()} in place: afterwards every target holds the weight the stored model
     * computes with (dequantized, AWQ scales applied), so the encoder can be evaluated right away.
     *
     * @throws ModelInputException if {@code maxTokens} exceeds the model's positions
     * @throws QuantizationException (subclasses) naming the target for bad specs or weights; nothing is
     *                               returned unless every target succeeded (the encoder may then be partly changed)
     */
    public BertPtqResult quantize(MiniLm model) {
        long start = System.nanoTime();
        BertEncoder encoder = model.encoder();
        if (maxTokens > encoder.config().maxPositions()) {
            throw new ModelInputException("calibration sequences of up to " + maxTokens + " tokens were asked for but "
                    + encoder.source() + " has " + encoder.config().maxPositions() + " positions; use maxTokens <= "
                    + encoder.config().maxPositions());
        }
        List<LinearTarget> targets = encoder.targets();
        Map<String, QuantSpec> specs = plan(encoder, targets);
        CalibrationSet calib = calibration == null ? null : CalibrationSet.of(model, calibration, maxTokens, BATCH);
        BertBiasCorrection correction = biasCorrection
                ? BertBiasCorrection.capture(encoder, CalibrationSet.of(model, calibration, maxTokens, BATCH), listener)
                : null;
        Run run = new Run(encoder, specs, targets.size());
        for (int layer = 0; layer < encoder.layerCount(); layer++) {
            final int l = layer;
            List<LinearTarget> layerTargets = targets.stream().filter(t -> t.layer() == l).toList();
            if (awq != null) {
                awqLayer(run, calib, layer, layerTargets);
            } else if (calib != null && sequential) {
                sequentialLayer(run, calib, layer, layerTargets);
            } else {
                parallelLayer(run, calib, layer, layerTargets);
            }
        }
        if (correction != null) {
            correction.apply(encoder, CalibrationSet.of(model, calibration, maxTokens, BATCH), run.outputDivisors,
                    listener);
        }
        String description = calib == null ? "none" : calibration.size() + " sequences" + (calibrationDescription.isEmpty()
                ? "" : " (" + calibrationDescription + ")") + ", " + calib.tokens() + " tokens, truncated to " + maxTokens;
        QuantizedModel quantized = run.model(targets, description);
        String specName = spec == null ? claq.params().toString() : spec.shortName();
        String specJson = spec == null ? "{}" : spec.toJson();
        String errorRows = calib == null ? "not measured (no calibration data)"
                : "calibration reservoir (in-sample, " + reservoirRows + " rows per target)";
        PtqReport report = new PtqReport(MODEL_NAME, reportedMethod(), solverDescription(), specName, specJson,
                groupFallback.name(), description, awq == null && sequential, errorRows, seed,
                OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString(), machine(),
                (System.nanoTime() - start) / 1e9, run.bitsPerWeight(), run.reports, biasCorrection);
        return new BertPtqResult(quantized, report);
    }

    /** The method as reports name it: the builder's, or for awq the solver's name ("awq", "awq+gptq"). */
    private String reportedMethod() {
        return awq != null ? awq.name() : method;
    }

    private String solverDescription() {
        String base = claq != null ? "claq(" + claq.params() + ")" : solver.toString();
        base = awq != null ? base + ", awq loss on up to " + awqLossSequences + " passages" : base;
        return biasCorrection ? base + ", bias correction" : base;
    }

    /** Fits the spec to every target and checks every weight before any work is done. */
    private Map<String, QuantSpec> plan(BertEncoder encoder, List<LinearTarget> targets) {
        if (calibration == null && (claq != null || solver.needsCalibration())) {
            throw new QuantizationException(method + " needs calibration text, but none were given");
        }
        if (calibration == null && biasCorrection) {
            throw new QuantizationException("bias correction needs calibration text, but none were given");
        }
        if (awq != null && (spec.format() != Format.INT || spec.granularity().kind() == Granularity.Kind.TENSOR)) {
            throw new InvalidSpecException("awq quantizes to INT grids per channel or per group, got " + spec
                    + "; use e.g. 4-bit asymmetric groups of 128");
        }
        Map<String, QuantSpec> specs = new LinkedHashMap<>();
        for (LinearTarget t : targets) {
            INDArray w = encoder.weight(t.name());
            if (spec == null) {
                for (float v : w.data().asFloat()) {
                    if (!Float.isFinite(v)) {
                        throw new org.quant4j.core.InvalidTensorException("target '" + t.name() + "' holds " + v);
                    }
                }
                specs.put(t.name(), null);
                continue;
            }
            QuantSpec fitted = groupFallback.fit(t.name(), spec, t.inFeatures());
            Quantizer.validate(t.name(), w.data().asFloat(), w.shape(), fitted);
            specs.put(t.name(), fitted);
        }
        return specs;
    }

    /** The groups of a layer in execution order: [Q, K, V], [attention output], [FFN in], [FFN out]. */
    private static List<List<LinearTarget>> groups(List<LinearTarget> layerTargets) {
        Map<Integer, List<LinearTarget>> byGroup = new LinkedHashMap<>();
        for (LinearTarget t : layerTargets) {
            int g = switch (t.role()) {
                case QUERY, KEY, VALUE -> 0;
                case ATTENTION_OUTPUT -> 1;
                case FFN_IN -> 2;
                case FFN_OUT -> 3;
            };
            byGroup.computeIfAbsent(g, k -> new ArrayList<>()).add(t);
        }
        return new ArrayList<>(byGroup.values());
    }

    private LayerStats newStats(LinearTarget t, Run run) {
        boolean hessian = awq != null || claq != null || solver.needsCalibration();
        return new LayerStats(t.name(), t.inFeatures(), reservoirRows, seed + run.targetIndex(t), hessian);
    }

    private void sequentialLayer(Run run, CalibrationSet calib, int layer, List<LinearTarget> layerTargets) {
        for (List<LinearTarget> group : groups(layerTargets)) {
            LinearTarget first = group.get(0);
            run.begin(first);
            long t0 = System.nanoTime();
            LayerStats stats = newStats(first, run);
            calib.capture(run.encoder, layer, first, stats);
            double seconds = (System.nanoTime() - t0) / 1e9;
            for (LinearTarget t : group) {
                if (t != first) {
                    run.begin(t);
                }
                run.step(t, "calibration");
                run.solve(t, stats, t == first ? seconds : 0);
            }
        }
        calib.advance(run.encoder, layer, Map.of());
    }

    /** Every target of the layer calibrated on the float layer's inputs (or, without calibration, none). */
    private void parallelLayer(Run run, CalibrationSet calib, int layer, List<LinearTarget> layerTargets) {
        Map<LinearTarget, LayerStats> stats = new LinkedHashMap<>();
        double seconds = 0;
        if (calib != null) {
            for (List<LinearTarget> group : groups(layerTargets)) {
                stats.put(group.get(0), newStats(group.get(0), run));
            }
            long t0 = System.nanoTime();
            calib.advance(run.encoder, layer, stats);
            seconds = (System.nanoTime() - t0) / 1e9;
        }
        for (List<LinearTarget> group : groups(layerTargets)) {
            for (LinearTarget t : group) {
                run.begin(t);
                run.step(t, "calibration");
                run.solve(t, stats.get(group.get(0)), t == layerTargets.get(0) ? seconds : 0);
            }
        }
    }

    private void awqLayer(Run run, CalibrationSet calib, int layer, List<LinearTarget> layerTargets) {
        BertEncoder encoder = run.encoder;
        List<List<LinearTarget>> groups = groups(layerTargets);
        run.begin(layerTargets.get(0));
        long t0 = System.nanoTime();
        Map<LinearTarget, LayerStats> stats = new LinkedHashMap<>();
        for (List<LinearTarget> group : groups) {
            stats.put(group.get(0), newStats(group.get(0), run));
        }
        INDArray[] inputs = new INDArray[calib.batchCount()];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = calib.hidden(i);
        }
        calib.advance(encoder, layer, stats);
        long t1 = System.nanoTime();
        AwqScaleSearch search = awq.scaleSearch();
        Map<LinearRole, float[]> scales = new LinkedHashMap<>();
        Map<LinearTarget, String> notes = new LinkedHashMap<>();
        for (List<LinearTarget> group : groups) {
            LinearTarget first = group.get(0);
            List<INDArray> weights = group.stream().map(t -> encoder.weight(t.name())).toList();
            LayerStats s = stats.get(first);
            AwqLoss loss = first.role() == LinearRole.QUERY
                    ? new AttentionLoss(encoder, layer, calib, inputs, weights, awqLossSequences)
                    : AwqLoss.gramError(s.hessian().divi(2), weights);
            String name = group.size() == 1 ? first.name() : "encoder.layer." + layer + ".attention.self.qkv";
            AwqScaleSearch.Result r = search.search(name, weights, s.meanAbs(), run.specs.get(first.name()), loss);
            scales.put(first.role(), r.scales());
            notes.put(first, String.format(Locale.ROOT, "awq alpha %s, search loss %.3e (unscaled %.3e)",
                    r.gridPoint() < 0 ? "none" : String.format(Locale.ROOT, "%.2f", r.alpha()), r.loss(), r.unscaledLoss()));
        }
        Map<String, BertAwqScales.Scaled> scaled = BertAwqScales.apply(encoder, layer, new BertAwqScales.LayerScales(
                scales.get(LinearRole.QUERY), scales.get(LinearRole.ATTENTION_OUTPUT), scales.get(LinearRole.FFN_IN),
                scales.get(LinearRole.FFN_OUT)));
        layerTargets.stream().filter(t -> t.role() == LinearRole.VALUE)
                .forEach(t -> run.outputDivisors.put(t.name(), scales.get(LinearRole.ATTENTION_OUTPUT)));
        double captureSeconds = (t1 - t0) / 1e9;
        double searchSeconds = (System.nanoTime() - t1) / 1e9;
        for (List<LinearTarget> group : groups) {
            LayerStats s = stats.get(group.get(0));
            for (LinearTarget t : group) {
                if (t != layerTargets.get(0)) {
                    run.begin(t);
                }
                run.step(t, "calibration");
                long q0 = System.nanoTime();
                BertAwqScales.Scaled sc = scaled.get(t.name());
                INDArray rows = s.sampleRows();
                boolean clip = t.role() != LinearRole.QUERY && t.role() != LinearRole.KEY;
                Awq.LayerResult result = awq.quantizeScaled(t.name(), sc.stored(), sc.inputScale(), s, clip,
                        run.specs.get(t.name()));
                QuantizedTensor q = result.scaled().tensor();
                INDArray dq = q.dequantize();
                encoder.setWeight(t.name(), sc.inputScaleStored() ? AwqFolding.unscaleColumns(dq, sc.inputScale()) : dq);
                double solveSeconds = (System.nanoTime() - q0) / 1e9 + (t == layerTargets.get(0) ? searchSeconds : 0);
                String step = awq.gptq() != null ? "gptq" : clip ? "clip" : "no clip";
                String note = (notes.containsKey(t) ? notes.get(t) + "; " : "") + step
                        + (sc.inputScaleStored() ? ", input_scale stored" : ", 1/s folded into the value rows");
                run.finishQuantized(t, q, sc.inputScaleStored() ? sc.inputScale() : null, sc.stored(), dq,
                        AwqFolding.unscaleColumns(rows, sc.inputScale()), s.rowCount(), note,
                        t == layerTargets.get(0) ? captureSeconds : 0, solveSeconds);
            }
        }
    }

    /**
     * AWQ's Q/K/V loss (AutoAWQ {@code _compute_best_scale} with {@code module2inspect=self_attn}): the mean
     * over calibration tokens of {@code ‖attn(Ŵ_q, Ŵ_k, Ŵ_v) − attn(W_q, W_k, W_v)‖²}, {@code attn} being
     * {@code attention.output.dense(selfAttention(x))} of the layer, on the float layer's inputs.
     */
    private static final class AttentionLoss implements AwqLoss {
        private final BertEncoder encoder;
        private final int layer;
        private final CalibrationSet calib;
        private final INDArray[] inputs;
        private final int[] batches;
        private final INDArray[] reference;
        private final INDArray[] masks;
        private double tokens;

        AttentionLoss(BertEncoder encoder, int layer, CalibrationSet calib, INDArray[] inputs, List<INDArray> qkv,
                      int maxSequences) {
            this.encoder = encoder;
            this.layer = layer;
            this.calib = calib;
            this.inputs = inputs;
            int n = calib.batchCount();
            int wanted = Math.max(1, Math.min(n, (maxSequences + BATCH - 1) / BATCH));
            this.batches = new int[wanted];
            for (int i = 0; i < wanted; i++) {
                batches[i] = (int) ((long) i * n / wanted + n / (2L * wanted));
            }
            this.reference = new INDArray[wanted];
            this.masks = new INDArray[wanted];
            for (int i = 0; i < wanted; i++) {
                int b = batches[i];
                reference[i] = encoder.attentionOutput(layer, inputs[b], calib.batch(b), qkv.get(0), qkv.get(1), qkv.get(2));
                masks[i] = calib.maskColumn(b);
                tokens += masks[i].sumNumber().doubleValue();
            }
        }

        @Override
        public double evaluate(List<INDArray> candidates) {
            double sum = 0;
            for (int i = 0; i < batches.length; i++) {
                int b = batches[i];
                try (INDArray out = encoder.attentionOutput(layer, inputs[b], calib.batch(b), candidates.get(0),
                        candidates.get(1), candidates.get(2))) {
                    out.subi(reference[i]).muliColumnVector(masks[i]);
                    double norm = out.norm2Number().doubleValue();
                    sum += norm * norm;
                }
            }
            return sum / tokens;
        }
    }

    private static String machine() {
        return Runtime.getRuntime().availableProcessors() + " processors, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version");
    }

    /** The state of one run: quantized tensors, input scales, reports, the listener calls. */
    private final class Run {
        final BertEncoder encoder;
        final Map<String, QuantSpec> specs;
        final int count;
        final Map<String, Integer> index = new LinkedHashMap<>();
        final Map<String, QuantizedTensor> tensors = new LinkedHashMap<>();
        final Map<String, ClaqTensor> claqTensors = new LinkedHashMap<>();
        final Map<String, float[]> inputScales = new LinkedHashMap<>();
        /** Targets whose outputs the quantized encoder computes divided per channel (AWQ: V by the attention output's s). */
        final Map<String, float[]> outputDivisors = new LinkedHashMap<>();
        final List<LayerReport> reports = new ArrayList<>();
        long storedBits;
        long weights;

        Run(BertEncoder encoder, Map<String, QuantSpec> specs, int count) {
            this.encoder = encoder;
            this.specs = specs;
            this.count = count;
            int i = 0;
            for (LinearTarget t : encoder.targets()) {
                index.put(t.name(), i++);
            }
        }

        int targetIndex(LinearTarget t) {
            return index.get(t.name());
        }

        WeightTarget view(LinearTarget t) {
            return new WeightTarget(t.name(), targetIndex(t), t.name(), "weight", "Linear", WeightTarget.Layout.OUT_IN);
        }

        void begin(LinearTarget t) {
            listener.layerStarted(targetIndex(t), count, view(t), 2);
        }

        void step(LinearTarget t, String phase) {
            listener.layerStep(view(t), phase);
        }

        /** Solves a target with rtn/gptq/hqq/claq and writes the dequantized weight back. */
        void solve(LinearTarget t, LayerStats stats, double calibrationSeconds) {
            INDArray w = encoder.weight(t.name());
            long t0 = System.nanoTime();
            INDArray dq;
            String note = "";
            if (claq != null) {
                Claq.Result r = claq.solveDetailed(t.name(), w, stats);
                ClaqTensor c = r.tensor();
                dq = c.dequantize().reshape(w.shape());
                claqTensors.put(t.name(), c);
                storedBits += 8 * c.storageBytes();
                weights += c.size();
                note = String.format(Locale.ROOT, "%.3f code bits, %d outliers", c.averageCodeBits(), c.outlierCount());
                encoder.setWeight(t.name(), dq);
                finish(t, w, dq, stats, c.bitsPerWeight(), note, calibrationSeconds, (System.nanoTime() - t0) / 1e9);
                return;
            }
            QuantizedTensor q = solver.solve(t.name(), w, stats, specs.get(t.name()));
            dq = q.dequantize();
            encoder.setWeight(t.name(), dq);
            tensors.put(t.name(), q);
            storedBits += 8 * q.storageBytes();
            weights += q.size();
            finish(t, w, dq, stats, q.bitsPerWeight(), note, calibrationSeconds, (System.nanoTime() - t0) / 1e9);
        }

        private void finish(LinearTarget t, INDArray w, INDArray dq, LayerStats stats, double bits, String note,
                            double calibrationSeconds, double solveSeconds) {
            Double error = stats == null ? null : OutputError.relative(w, dq, stats.sampleRows());
            report(t, w, dq, stats == null ? 0 : stats.rowCount(), stats == null ? 0 : stats.sampleCount(), error, bits,
                    note, calibrationSeconds, solveSeconds);
        }

        /** Records an AWQ target: its tensor, its input scales (null when folded), the error in the scaled domain. */
        void finishQuantized(LinearTarget t, QuantizedTensor q, float[] inputScale, INDArray stored, INDArray dq,
                             INDArray scaledRows, long rows, String note, double calibrationSeconds, double solveSeconds) {
            tensors.put(t.name(), q);
            long bits = 8 * q.storageBytes() + (inputScale == null ? 0 : 32L * inputScale.length);
            if (inputScale != null) {
                inputScales.put(t.name(), inputScale);
            }
            storedBits += bits;
            weights += q.size();
            report(t, stored, dq, rows, (int) scaledRows.rows(), OutputError.relative(stored, dq, scaledRows),
                    (double) bits / q.size(), note, calibrationSeconds, solveSeconds);
        }

        private void report(LinearTarget t, INDArray w, INDArray dq, long rows, int errorRows, Double error, double bits,
                            String note, double calibrationSeconds, double solveSeconds) {
            double difference = w.sub(dq).norm2Number().doubleValue();
            double norm = w.norm2Number().doubleValue();
            QuantSpec s = specs.get(t.name());
            LayerReport r = new LayerReport(t.name(), "Linear " + t.role().modulePath(), w.shape(),
                    s == null ? claq.params().toString() : s.shortName(), note, rows, errorRows, false, error,
                    difference * difference / (norm * norm), bits, calibrationSeconds, solveSeconds);
            reports.add(r);
            step(t, "solve");
            listener.layerFinished(targetIndex(t), count, r);
        }

        double bitsPerWeight() {
            return (double) storedBits / weights;
        }

        QuantizedModel model(List<LinearTarget> targets, String calibrationDescription) {
            QuantizedModel.Builder b = QuantizedModel.builder().sourceModel(MODEL_NAME)
                    .metadata("method", reportedMethod()).metadata("solver", solverDescription())
                    .metadata("spec", spec == null ? "{}" : spec.toJson()).metadata("model", MODEL_NAME)
                    .metadata("calibration", calibrationDescription).metadata("seed", Long.toString(seed))
                    .metadata("groupFallback", groupFallback.name())
                    .metadata("sequential", Boolean.toString(awq == null && sequential))
                    .metadata("biasCorrection", Boolean.toString(biasCorrection));
            for (LinearTarget t : targets) {
                if (claqTensors.containsKey(t.name())) {
                    b.addClaq(t.name(), claqTensors.get(t.name()));
                } else {
                    b.addQuantized(t.name(), tensors.get(t.name()));
                }
                float[] s = inputScales.get(t.name());
                if (s != null) {
                    b.addFloat(t.name() + "/input_scale", new FloatTensor(new long[] {s.length}, s.clone()));
                }
            }
            Set<String> targetWeights = targets.stream().map(LinearTarget::weightName).collect(Collectors.toSet());
            for (String name : encoder.parameterNames()) {
                if (!targetWeights.contains(name)) {
                    INDArray p = encoder.parameter(name);
                    b.addFloat(name, new FloatTensor(p.shape(), p.data().asFloat()));
                }
            }
            return b.build();
        }
    }

    /** Options of a {@link BertPtq} run. */
    public static final class Builder {
        private final String method;
        private final QuantSpec spec;
        private List<String> calibration;
        private String calibrationDescription = "";
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private ClaqParams claq;
        private GroupFallback groupFallback = GroupFallback.REFUSE;
        private PtqListener listener = PtqListener.NONE;
        private long seed;
        private boolean sequential = true;
        private boolean biasCorrection;
        private int reservoirRows = LayerStats.DEFAULT_RESERVOIR_ROWS;
        private int awqLossSequences = DEFAULT_AWQ_LOSS_SEQUENCES;
        private WeightSolver solver;

        private Builder(String method, QuantSpec spec) {
            String m = Objects.requireNonNull(method, "method").toLowerCase(Locale.ROOT);
            if (!METHODS.contains(m)) {
                throw new InvalidSpecException("unknown PTQ method '" + method + "'; methods: " + String.join(", ", METHODS));
            }
            if (spec == null && !m.equals("claq")) {
                throw new InvalidSpecException(m + " needs a QuantSpec");
            }
            this.method = m;
            this.spec = spec;
        }

        /** Calibration text, one sequence per string (needed by gptq, awq, claq; rtn and hqq use it to measure output error). */
        public Builder calibration(List<String> passages) {
            if (passages.isEmpty()) {
                throw new QuantizationException("the calibration set is empty: give at least one sequence");
            }
            this.calibration = List.copyOf(passages);
            return this;
        }

        /** Where the passages come from, for the report and the model file (e.g. "SOTU, seed 1790"). */
        public Builder calibrationDescription(String description) {
            this.calibrationDescription = Objects.requireNonNull(description, "description");
            return this;
        }

        /** Calibration sequences are truncated to this many tokens (default 128; at most the model's positions). */
        public Builder maxTokens(int maxTokens) {
            if (maxTokens < 3) {
                throw new ModelInputException("maxTokens must leave room for [CLS], a token and [SEP], got " + maxTokens);
            }
            this.maxTokens = maxTokens;
            return this;
        }

        /** CLAQ's options (claq only; default {@code ClaqParams.adaptive(2.5)}). */
        public Builder claq(ClaqParams params) {
            this.claq = Objects.requireNonNull(params, "params");
            return this;
        }

        public Builder groupFallback(GroupFallback policy) {
            this.groupFallback = Objects.requireNonNull(policy, "policy");
            return this;
        }

        public Builder listener(PtqListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Seed of the row reservoirs (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * True (default): true-sequential calibration (rtn/gptq/hqq/claq). False: every target on the float
         * model's activations. AWQ always follows AutoAWQ's order (float-layer inputs).
         */
        public Builder sequential(boolean sequential) {
            this.sequential = sequential;
            return this;
        }

        /**
         * Whether every target's bias is corrected after quantization so that its mean output over the calibration
         * tokens is the float encoder's ({@link BertBiasCorrection}; default false, as in the solvers' references).
         */
        public Builder biasCorrection(boolean biasCorrection) {
            this.biasCorrection = biasCorrection;
            return this;
        }

        /** Calibration rows kept per target for the output error and AWQ's clip search (default 512). */
        public Builder reservoirRows(int rows) {
            if (rows < 1) {
                throw new IllegalArgumentException("reservoir rows must be >= 1, got " + rows);
            }
            this.reservoirRows = rows;
            return this;
        }

        /** Calibration passages AWQ's Q/K/V attention loss runs on (default {@value #DEFAULT_AWQ_LOSS_SEQUENCES}). */
        public Builder awqLossSequences(int passages) {
            if (passages < 1) {
                throw new IllegalArgumentException("AWQ loss passages must be >= 1, got " + passages);
            }
            this.awqLossSequences = passages;
            return this;
        }

        /**
         * The solver of rtn, gptq, hqq or awq with non-default options (e.g. {@code Gptq.builder().actOrder(true).build()},
         * {@code new Hqq(params)}, {@code Awq.builder().gptq(gptq).build()}); its {@link WeightSolver#name()} must be
         * the method (for awq: an {@link Awq}, "awq" or "awq+gptq"). Default: the reference defaults.
         */
        public Builder solver(WeightSolver solver) {
            Objects.requireNonNull(solver, "solver");
            boolean matches = method.equals("awq") ? solver instanceof Awq
                    : List.of("rtn", "gptq", "hqq").contains(method) && solver.name().equals(method);
            if (!matches) {
                throw new InvalidSpecException("a " + solver.name() + " solver cannot run method " + method
                        + "; solver(...) replaces the rtn, gptq, hqq or awq solver of the same method");
            }
            this.solver = solver;
            return this;
        }

        public BertPtq build() {
            return new BertPtq(this);
        }
    }
}
