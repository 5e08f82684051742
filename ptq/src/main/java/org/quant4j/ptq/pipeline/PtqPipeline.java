package org.quant4j.ptq.pipeline;

import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.Dl4jModel;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.model.CalibrationInput;
import org.quant4j.model.CalibrationPass;
import org.quant4j.model.ModelBlock;
import org.quant4j.model.QuantTarget;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.ScaleGroup;
import org.quant4j.model.ScaledTarget;
import org.quant4j.model.StoredWeight;
import org.quant4j.core.Quantizer;
import org.quant4j.model.TargetGroup;
import org.quant4j.ptq.OutputError;
import org.quant4j.ptq.WeightSolver;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.awq.AwqScaleSearch;
import org.quant4j.ptq.claq.Claq;

/**
 * The one post-training quantization runner, for every {@link QuantizableModel} (DL4J networks, BERT encoders...),
 * with one {@link WeightSolver} and {@link QuantSpec}:
 * <ol>
 *   <li><b>plan</b>, every check before any work: the spec fitted to each target's width ({@link GroupFallback}),
 *       every weight finite and inside the spec's range, calibration present where it is needed, every target's
 *       inputs capturable where they must be;</li>
 *   <li>per block, per group in order: <b>capture</b> the group's inputs into {@link LayerStats} (one shared capture
 *       for a group's targets), <b>solve</b> each target, <b>write back</b> the weight the stored model computes with,
 *       so the next group is calibrated on quantized upstream targets ("true sequential", GPTQ paper §4 / the
 *       reference's {@code --true-sequential}); then <b>advance</b> the block (its outputs, with its quantized
 *       weights, are the next block's inputs);</li>
 *   <li>optionally <b>bias correction</b> ({@link BiasCorrectionPass});</li>
 *   <li>the <b>report</b> ({@link PtqReport}: per target output error, weight error, bits, times) and the
 *       {@link QuantizedModel} (every other parameter in fp32).</li>
 * </ol>
 * With {@link Builder#sequential(boolean) sequential(false)} every group of a block is calibrated on the block's float
 * inputs (the block is advanced through its float weights).
 *
 * <p><b>AWQ</b> is a step before the solver ({@link Builder#awq}; AWQ paper, Lin et al. 2024 §3.2, AutoAWQ's order):
 * per block, the groups' float inputs are captured while the block advances through its float weights (AWQ's inputs
 * are always float), every {@link ScaleGroup}'s scales are searched and applied ({@link AwqStep}), and the solver then
 * quantizes each target's scaled weight {@code W·diag(s)} with the statistics of {@code x·diag(1/s)}. An {@link Awq}
 * given as the solver is the AWQ method: its scale search as the step and {@link Awq#quantizer()} (clip search and
 * round-to-nearest, or its GPTQ) as the solver.
 *
 * <p>Per target the output error {@code ‖WX − ŴX‖²/‖WX‖²} is measured on held-out rows ({@link Builder#heldOut}, a
 * reservoir of {@code errorRows} rows captured as the calibration rows are) or, without them, on the calibration
 * reservoir; for AWQ in the target's float domain, {@code W} against {@code diag(r)·Q(W·diag(s))·diag(1/s)}.
 *
 * <p><b>The input model is changed</b>: the runner quantizes the {@link QuantizableModel} it is given in place; give
 * it a copy to keep the original ({@link Dl4jModel#copyOf}; {@link #quantize(MultiLayerNetwork)} does). Nothing is
 * returned (so nothing can be written) unless every target succeeded; every error names the target.
 */
public final class PtqPipeline {
    /** Calibration rows kept per target for the in-sample output error when there is no held-out data. */
    public static final int DEFAULT_RESERVOIR_ROWS = LayerStats.DEFAULT_RESERVOIR_ROWS;
    /** Held-out rows kept per target for the output error. */
    public static final int DEFAULT_ERROR_ROWS = 2048;
    /** Calibration sequences AWQ's module losses (BERT's self-attention) run on at most. */
    public static final int DEFAULT_AWQ_LOSS_SEQUENCES = 16;

    private final WeightSolver solver;
    private final AwqStep awq;
    private final String method;
    private final String description;
    private final QuantSpec spec;
    private final GroupFallback groupFallback;
    private final CalibrationInput calibration;
    private final CalibrationInput heldOut;
    private final int reservoirRows;
    private final int errorRows;
    private final long seed;
    private final PtqListener listener;
    private final boolean sequential;
    private final boolean biasCorrection;
    private final String sourceModel;

    private PtqPipeline(Builder b) {
        if (b.solver instanceof Awq a) {
            this.solver = a.quantizer();
            this.awq = new AwqStep(b.awqSearch != null ? b.awqSearch : a.scaleSearch(), b.awqLossSequences);
            this.method = a.name();
            this.description = a + (b.biasCorrection ? ", bias correction" : "");
        } else {
            this.solver = b.solver;
            this.awq = b.awqSearch == null ? null : new AwqStep(b.awqSearch, b.awqLossSequences);
            this.method = awq == null ? b.solver.name() : "awq+" + b.solver.name();
            this.description = (awq == null ? "" : "awq(" + awq + ") + ") + b.solver
                    + (b.biasCorrection ? ", bias correction" : "");
        }
        this.spec = b.spec;
        this.groupFallback = b.groupFallback;
        this.calibration = b.calibration;
        this.heldOut = b.heldOut;
        this.reservoirRows = b.reservoirRows;
        this.errorRows = b.errorRows;
        this.seed = b.seed;
        this.listener = b.listener;
        this.sequential = b.sequential;
        this.biasCorrection = b.biasCorrection;
        this.sourceModel = b.sourceModel;
    }

    /**
     * A runner of {@code solver} with {@code spec} (null for a solver that takes none, e.g. {@link Claq}).
     *
     * @throws InvalidSpecException if the spec is missing for a solver that needs one
     */
    public static Builder builder(WeightSolver solver, QuantSpec spec) {
        Objects.requireNonNull(solver, "solver");
        if (solver.usesSpec() && spec == null) {
            throw new InvalidSpecException(solver.name() + " needs a QuantSpec");
        }
        return new Builder(solver, solver.usesSpec() ? spec : null);
    }

    /** A runner of CLAQ (its widths from {@link Claq#params()}; no spec, no group fallback). */
    public static Builder builder(Claq claq) {
        return builder(claq, null);
    }

    /** Quantizes a clone of {@code net} ({@link Dl4jModel#copyOf}); {@code net} itself is not changed. */
    public PtqResult<MultiLayerNetwork> quantize(MultiLayerNetwork net) {
        Dl4jModel copy = Dl4jModel.copyOf(net, sourceModel);
        PtqResult<QuantizableModel> r = quantize(copy);
        return new PtqResult<>(copy.network(), r.model(), r.report());
    }

    /** Quantizes a clone of {@code graph} (calibration needs a single-input graph); {@code graph} is not changed. */
    public PtqResult<ComputationGraph> quantize(ComputationGraph graph) {
        Dl4jModel copy = Dl4jModel.copyOf(graph, sourceModel);
        PtqResult<QuantizableModel> r = quantize(copy);
        return new PtqResult<>(copy.network(), r.model(), r.report());
    }

    /** Whether groups are calibrated on the quantized model (false for AWQ, whose inputs are float). */
    private boolean sequential() {
        return sequential && awq == null;
    }

    /** A target and the spec it gets (null for solvers without one), with a note on the fit. */
    private record Plan(QuantTarget target, int index, QuantSpec spec, String note) {}

    /** Quantizes {@code model} in place (see the class comment) and returns the model file's content and the report. */
    public PtqResult<QuantizableModel> quantize(QuantizableModel model) {
        long start = System.nanoTime();
        Map<QuantTarget, Plan> plans = plan(model);
        BiasCorrectionPass correction = biasCorrection ? BiasCorrectionPass.capture(model, calibration, listener) : null;
        CalibrationPass calib = calibration == null ? null : model.open(calibration);
        CalibrationPass held = heldOut == null ? null : model.open(heldOut);
        Run run = new Run(model, plans);
        List<ModelBlock> blocks = model.blocks();
        for (int b = 0; b < blocks.size(); b++) {
            quantizeBlock(run, b, calib, held);
        }
        List<LayerReport> layers = run.reports;
        if (correction != null) {
            Map<String, String> notes = correction.apply(run.rowScales, listener);
            layers.replaceAll(l -> withNote(l, notes.get(l.layer())));
        }
        String calibrationDescription = calibration == null ? "none" : calibration.description()
                + (calib != null && calib.rows() >= 0 ? ", " + calib.rows() + " tokens" : "");
        String specName = spec == null ? solver.toString() : spec.shortName();
        String specJson = spec == null ? "{}" : spec.toJson();
        QuantizedModel.Builder file = QuantizedModel.builder().sourceModel(model.name())
                .metadata("method", method).metadata("solver", description).metadata("spec", specJson)
                .metadata("model", model.name()).metadata("groupFallback", groupFallback.name())
                .metadata("calibration", calibrationDescription).metadata("seed", Long.toString(seed))
                .metadata("sequential", Boolean.toString(sequential())).metadata("biasCorrection",
                        Boolean.toString(biasCorrection));
        for (QuantTarget t : model.targets()) {
            run.stored.get(t.name()).addTo(file, t.name());
        }
        model.otherParameters().forEach((name, p) -> file.addFloat(name, new FloatTensor(p.shape(),
                p.dup('c').data().asFloat())));
        PtqReport report = new PtqReport(model.name(), method, description, specName, specJson, groupFallback.name(),
                calibrationDescription, sequential(), errorRowsDescription(), seed,
                OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString(), machine(),
                (System.nanoTime() - start) / 1e9, run.bitsPerWeight(), layers, biasCorrection);
        return new PtqResult<>(model, file.build(), report);
    }

    private void quantizeBlock(Run run, int b, CalibrationPass calib, CalibrationPass held) {
        QuantizableModel model = run.model;
        List<TargetGroup> groups = model.blocks().get(b).groups();
        boolean floatInputs = !sequential();
        Map<TargetGroup, LayerStats> floatStats = new LinkedHashMap<>();
        Map<TargetGroup, LayerStats> floatHeld = new LinkedHashMap<>();
        Map<String, ToDoubleFunction<List<INDArray>>> losses = new LinkedHashMap<>();
        double floatSeconds = 0;
        if (floatInputs) {
            long t0 = System.nanoTime();
            if (calib != null) {
                if (awq != null) {
                    for (ScaleGroup g : model.scaleGroups(b)) {
                        if (g.inspect() != null) {
                            losses.put(g.name(), calib.moduleLoss(b, g, awq.lossSequences()));
                        }
                    }
                }
                capturing(groups, floatStats, reservoirRows, needsHessian(), run);
                calib.advance(b, (g, rows) -> accumulate(floatStats, g, rows));
            }
            if (held != null) {
                capturing(groups, floatHeld, errorRows, false, run);
                held.advance(b, (g, rows) -> accumulate(floatHeld, g, rows));
            }
            floatSeconds = (System.nanoTime() - t0) / 1e9;
        }
        AwqStep.Applied scaled = null;
        if (awq != null) {
            long t0 = System.nanoTime();
            scaled = awq.run(model, b, floatStats, t -> run.plans.get(t).spec(), losses);
            floatSeconds += (System.nanoTime() - t0) / 1e9;
        }
        for (int g = 0; g < groups.size(); g++) {
            TargetGroup group = groups.get(g);
            long t0 = System.nanoTime();
            LayerStats stats = floatInputs ? floatStats.get(group) : null;
            LayerStats errors = floatInputs ? floatHeld.get(group) : null;
            boolean capturable = group.first().capturable();
            boolean captured = !floatInputs && capturable && (calib != null || held != null);
            begin(run, group.first(), captured ? steps() : 2);
            if (captured) {
                if (calib != null) {
                    stats = capture(calib, b, g, group, reservoirRows, needsHessian(), run, "calibration");
                }
                if (held != null) {
                    errors = capture(held, b, g, group, errorRows, false, run, "held-out");
                }
            }
            double calibrationSeconds = (System.nanoTime() - t0) / 1e9 + (g == 0 ? floatSeconds : 0);
            for (QuantTarget t : group.targets()) {
                if (t != group.first()) {
                    begin(run, t, 2);
                }
                if (t != group.first() || !captured) {
                    listener.layerStep(t, "calibration");
                }
                solve(run, t, stats, errors != null ? errors : stats, errors != null,
                        scaled == null ? null : scaled.targets().get(t.name()),
                        scaled == null ? null : scaled.notes().get(t.name()),
                        t == group.first() ? calibrationSeconds : 0);
            }
        }
        if (!floatInputs) {
            if (calib != null) {
                calib.advance(b, null);
            }
            if (held != null) {
                held.advance(b, null);
            }
        }
    }

    private boolean needsHessian() {
        return solver.needsHessian() || awq != null;
    }

    private void begin(Run run, QuantTarget t, long steps) {
        listener.layerStarted(run.plans.get(t).index(), run.plans.size(), t, steps);
    }

    /** Progress steps of a captured group: a batch of each data set, then the solve (-1 when a count is unknown). */
    private long steps() {
        long c = calibration == null ? 0 : calibration.batches();
        long h = heldOut == null ? 0 : heldOut.batches();
        return c < 0 || h < 0 ? -1 : c + h + 1;
    }

    private void capturing(List<TargetGroup> groups, Map<TargetGroup, LayerStats> into, int rows, boolean hessian,
                           Run run) {
        for (TargetGroup g : groups) {
            if (g.first().capturable()) {
                into.put(g, newStats(g, rows, hessian, run));
            }
        }
    }

    private LayerStats newStats(TargetGroup g, int rows, boolean hessian, Run run) {
        QuantTarget first = g.first();
        return new LayerStats(first.name(), first.inputWidth(), rows, seed + run.plans.get(first).index(), hessian);
    }

    private static void accumulate(Map<TargetGroup, LayerStats> stats, TargetGroup g, INDArray rows) {
        LayerStats s = stats.get(g);
        if (s != null) {
            s.accumulate(g.first().name(), rows);
        }
    }

    private LayerStats capture(CalibrationPass pass, int b, int g, TargetGroup group, int rows, boolean hessian,
                               Run run, String phase) {
        LayerStats stats = newStats(group, rows, hessian, run);
        pass.capture(b, g, (ignored, x) -> {
            stats.accumulate(group.first().name(), x);
            listener.layerStep(group.first(), phase);
        });
        if (stats.rowCount() == 0) {
            throw new InvalidTensorException("layer '" + group.first().name() + "': the calibration set is empty; give at"
                    + " least one calibration example");
        }
        return stats;
    }

    /** Solves one target, writes its weight back and records its report. */
    private void solve(Run run, QuantTarget t, LayerStats stats, LayerStats errorStats, boolean heldOutErrors,
                       ScaledTarget scaled, String awqNote, double calibrationSeconds) {
        Plan plan = run.plans.get(t);
        QuantizableModel model = run.model;
        long t0 = System.nanoTime();
        StoredWeight stored;
        INDArray reference;
        INDArray approximation;
        INDArray network;
        String note;
        if (scaled == null) {
            INDArray w = model.weight(t);
            WeightSolver.Solution s = solver.quantize(t.name(), w, stats, plan.spec());
            stored = s.stored();
            if (stored instanceof StoredWeight.Grid g) { // weights too small for the scale encoding: refuse, say which keeps them
                Quantizer.refuseAllZero(t.name(), w.dup('c').data().asFloat(), g.tensor());
            }
            network = stored.effectiveWeightArray();
            reference = w;
            approximation = network;
            note = s.note();
        } else {
            WeightSolver.Solution s = solver.quantize(t.name(), scaled.stored(),
                    stats.inputsDividedBy(scaled.inputScales()), plan.spec());
            StoredWeight grid = reshaped(t, s.stored());
            StoredWeight.InputScaled unscaled = new StoredWeight.InputScaled(grid, scaled.channelScales());
            stored = scaled.storeInputScale() ? unscaled : grid;
            network = stored.effectiveWeightArray();
            float[] approx = unscaled.effectiveWeight();
            if (scaled.rowScales() != null) {
                int cols = approx.length / scaled.rowScales().length;
                for (int i = 0; i < approx.length; i++) {
                    approx[i] *= scaled.rowScales()[i / cols];
                }
                run.rowScales.put(t.name(), scaled.rowScales());
            }
            reference = scaled.original();
            approximation = Nd4j.create(approx, t.shape(), DataType.FLOAT);
            note = join(awqNote, scaled.note() + ", " + (s.note().isEmpty() ? solver.name() : s.note()));
        }
        model.setWeight(t, network);
        long t1 = System.nanoTime();
        listener.layerStep(t, "solve");
        Double outputError = errorStats == null ? null
                : OutputError.relative(reference, approximation, errorStats.sampleRows());
        LayerReport report = new LayerReport(t.name(), t.type(), t.shape(),
                plan.spec() == null ? solver.toString() : plan.spec().shortName(), join(plan.note(), note),
                stats == null ? 0 : stats.rowCount(), errorStats == null ? 0 : errorStats.sampleCount(),
                heldOutErrors, outputError, weightError(reference, approximation), stored.bitsPerWeight(),
                calibrationSeconds, (t1 - t0) / 1e9);
        run.stored.put(t.name(), stored);
        run.reports.add(report);
        listener.layerFinished(plan.index(), run.plans.size(), report);
    }

    /** A solver's result on the {@code [out, columns]} matrix in the target's own shape. */
    private static StoredWeight reshaped(QuantTarget t, StoredWeight s) {
        if (java.util.Arrays.equals(s.shape(), t.shape())) {
            return s;
        }
        if (s instanceof StoredWeight.Grid g) {
            QuantizedTensor q = g.tensor();
            return new StoredWeight.Grid(new QuantizedTensor(q.spec(), t.shape(), q.codes(), q.scales(), q.zeros(),
                    q.globalScale(), q.hasGroupIndex() ? q.groupIndex() : null));
        }
        throw new QuantizationException("layer '" + t.name() + "': AWQ with this solver supports [out, in] weights only,"
                + " not " + java.util.Arrays.toString(t.shape()));
    }

    private static String join(String a, String b) {
        if (a == null || a.isEmpty()) {
            return b == null ? "" : b;
        }
        return b == null || b.isEmpty() ? a : a + "; " + b;
    }

    private static LayerReport withNote(LayerReport l, String note) {
        return note == null ? l : new LayerReport(l.layer(), l.layerType(), l.shape(), l.spec(), join(l.note(), note),
                l.calibrationRows(), l.errorRows(), l.heldOut(), l.outputError(), l.weightError(), l.bitsPerWeight(),
                l.calibrationSeconds(), l.solveSeconds());
    }

    /** Fits the spec to every target and checks every weight before any work is done. */
    private Map<QuantTarget, Plan> plan(QuantizableModel model) {
        List<QuantTarget> targets = model.targets();
        if (targets.isEmpty()) {
            throw new QuantizationException(model.name() + " has no quantizable weights");
        }
        if ((solver.needsCalibration() || awq != null) && calibration == null) {
            throw new QuantizationException(method + " needs calibration data (" + model.calibrationKind()
                    + "), but none was given");
        }
        if (biasCorrection && calibration == null) {
            throw new QuantizationException("bias correction needs calibration data (the mean input of every layer "
                    + "over it), but none was given: add calibration(...) or turn biasCorrection off");
        }
        if (awq != null && spec != null && (spec.format() != Format.INT || spec.granularity().kind() == Granularity.Kind.TENSOR)) {
            throw new InvalidSpecException("layer '" + targets.get(0).name() + "' (and every other): awq quantizes to INT grids per channel or per group, got " + spec
                    + "; use e.g. 4-bit asymmetric groups of 128");
        }
        Map<QuantTarget, Plan> plans = new LinkedHashMap<>();
        int index = 0;
        for (QuantTarget t : targets) {
            if ((solver.needsCalibration() || awq != null) && !t.capturable()) {
                throw new QuantizationException("layer '" + t.name() + "' (" + t.type() + "): calibration cannot capture"
                        + " its inputs, which " + method + " needs; quantize it with a calibration-free solver (rtn, hqq)");
            }
            INDArray w = model.weight(t);
            QuantSpec fitted = spec == null ? null : groupFallback.fit(t.name(), spec, t.columns());
            if (fitted == null) {
                Quantizer.validate(t.name(), w.data().asFloat(), w.shape());
            } else {
                Quantizer.validate(t.name(), w.data().asFloat(), w.shape(), fitted);
            }
            String note = fitted == null || fitted.equals(spec) ? "" : "group " + spec.granularity().groupSize() + " -> "
                    + fitted.granularity() + " (" + t.columns() + " columns)";
            plans.put(t, new Plan(t, index++, fitted, note));
        }
        return plans;
    }

    private String errorRowsDescription() {
        if (heldOut != null) {
            return "held-out: " + heldOut.description() + " (reservoir of " + errorRows + " rows per layer)";
        }
        return calibration == null ? "not measured (no calibration data)"
                : "calibration reservoir (in-sample, " + reservoirRows + " rows per layer): " + calibration.description();
    }

    /** {@code ‖W − Ŵ‖²_F / ‖W‖²_F}. */
    private static double weightError(INDArray w, INDArray dequantized) {
        double difference = w.sub(dequantized.reshape(w.shape())).norm2Number().doubleValue();
        double norm = w.norm2Number().doubleValue();
        return norm == 0 ? (difference == 0 ? 0 : Double.POSITIVE_INFINITY) : difference * difference / (norm * norm);
    }

    private static String machine() {
        return Runtime.getRuntime().availableProcessors() + " processors, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version");
    }

    /** The state of one run. */
    private static final class Run {
        final QuantizableModel model;
        final Map<QuantTarget, Plan> plans;
        final Map<String, StoredWeight> stored = new LinkedHashMap<>();
        final Map<String, float[]> rowScales = new LinkedHashMap<>();
        final List<LayerReport> reports = new ArrayList<>();

        Run(QuantizableModel model, Map<QuantTarget, Plan> plans) {
            this.model = model;
            this.plans = plans;
        }

        double bitsPerWeight() {
            long bits = 0;
            long weights = 0;
            for (StoredWeight s : stored.values()) {
                bits += 8 * s.storageBytes();
                weights += s.size();
            }
            return (double) bits / weights;
        }
    }

    /** Options of a {@link PtqPipeline}. */
    public static final class Builder {
        private final WeightSolver solver;
        private final QuantSpec spec;
        private GroupFallback groupFallback = GroupFallback.REFUSE;
        private CalibrationInput calibration;
        private CalibrationInput heldOut;
        private int reservoirRows = DEFAULT_RESERVOIR_ROWS;
        private int errorRows = DEFAULT_ERROR_ROWS;
        private long seed;
        private PtqListener listener = PtqListener.NONE;
        private boolean sequential = true;
        private boolean biasCorrection;
        private AwqScaleSearch awqSearch;
        private int awqLossSequences = DEFAULT_AWQ_LOSS_SEQUENCES;
        private String sourceModel = "";

        private Builder(WeightSolver solver, QuantSpec spec) {
            this.solver = solver;
            this.spec = spec;
        }

        /** What to do with targets whose width the group size does not divide (default {@link GroupFallback#REFUSE}). */
        public Builder groupFallback(GroupFallback policy) {
            this.groupFallback = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Calibration data in the form the model runs (required by solvers that need calibration; optional otherwise). */
        public Builder calibration(CalibrationInput data) {
            this.calibration = Objects.requireNonNull(data, "data");
            return this;
        }

        /** Held-out data on which the output error is measured (default: the calibration reservoir, in-sample). */
        public Builder heldOut(CalibrationInput data) {
            this.heldOut = Objects.requireNonNull(data, "data");
            return this;
        }

        /** Calibration rows each target's statistics keep (default 512). */
        public Builder reservoirRows(int rows) {
            this.reservoirRows = positive(rows, "reservoir rows");
            return this;
        }

        /** Held-out rows per target the output error is measured on (default 2048). */
        public Builder errorRows(int rows) {
            this.errorRows = positive(rows, "error rows");
            return this;
        }

        /** Seed of the row reservoirs (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder listener(PtqListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * True (the default): each group is calibrated on the outputs of the already-quantized targets before it.
         * False: every group on the float model's activations, which compares solvers on identical inputs. AWQ always
         * calibrates on float inputs.
         */
        public Builder sequential(boolean sequential) {
            this.sequential = sequential;
            return this;
        }

        /**
         * Empirical bias correction ({@link org.quant4j.ptq.BiasCorrection}, default false, as in the solvers'
         * references): once every target is quantized, each target's bias is set, in model order, so that its mean
         * output over the calibration data is the float model's again ({@link BiasCorrectionPass}). Needs calibration
         * data. The per-target output error stays the weight-only {@code ‖WX − ŴX‖²/‖WX‖²}.
         */
        public Builder biasCorrection(boolean on) {
            this.biasCorrection = on;
            return this;
        }

        /**
         * AWQ's scale step before the solver, with this search (any solver then quantizes the scaled weights; an
         * {@link Awq} solver brings its own search, which this replaces).
         */
        public Builder awq(AwqScaleSearch search) {
            this.awqSearch = Objects.requireNonNull(search, "search");
            return this;
        }

        /** Calibration sequences AWQ's module losses run on at most (default {@value #DEFAULT_AWQ_LOSS_SEQUENCES}). */
        public Builder awqLossSequences(int sequences) {
            this.awqLossSequences = positive(sequences, "AWQ loss sequences");
            return this;
        }

        /** The name of a DL4J network given to {@link #quantize(MultiLayerNetwork)}, for the model file and report. */
        public Builder sourceModel(String name) {
            this.sourceModel = Objects.requireNonNull(name, "name");
            return this;
        }

        public PtqPipeline build() {
            return new PtqPipeline(this);
        }

        private static int positive(int value, String what) {
            if (value < 1) {
                throw new IllegalArgumentException(what + " must be >= 1, got " + value);
            }
            return value;
        }
    }
}
