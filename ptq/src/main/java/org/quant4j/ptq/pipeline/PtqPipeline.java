package org.quant4j.ptq.pipeline;

import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.CalibrationRunner;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.Quantizer;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.StoredWeight;
import org.quant4j.model.WeightTarget;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.OutputError;
import org.quant4j.ptq.WeightSolver;

/**
 * Post-training quantization of a whole DL4J network, layer by layer in network order, with one
 * {@link WeightSolver} and {@link QuantSpec}. The pipeline works on a clone of the network and is "true
 * sequential" (GPTQ paper, sec. 4 / the reference's {@code --true-sequential}): each target is calibrated on the
 * outputs of the already-quantized layers before it, because the dequantized weight of every finished target is
 * written back into the clone before the next one is calibrated.
 *
 * With {@link Builder#sequential(boolean) sequential(false)} every target sees the unquantized network's
 * activations instead.
 *
 * <p>Solvers: any {@link WeightSolver} (RTN, GPTQ, HQQ; its tensor is stored as is); {@link Awq}, run as AWQ on the
 * whole network by {@link AwqTargets} (float inputs, AutoAWQ's order; scales folded into the previous Dense where
 * {@link AwqFolds} finds that exact, else stored as {@code <target>/input_scale}); {@link Claq} through
 * {@link #builder(Claq)} (a {@code ClaqTensor} per target). Each target's result is a {@link StoredWeight}.
 *
 * <p>Per target: the spec is fitted to its width ({@link GroupFallback}); its input rows are captured by a
 * {@link CalibrationRunner} into {@link LayerStats} (when there is calibration data); the solver quantizes it; the
 * relative output error {@code ‖W X − Ŵ X‖²/‖W X‖²} is measured on held-out rows (a separate data set captured the
 * same way, its reservoir of {@code errorRows} rows) or, without one, on the calibration reservoir; the dequantized
 * weight goes back into the network. The result holds the {@link QuantizedModel} (biases and other parameters in
 * fp32) and a {@link PtqReport}. With {@link Builder#biasCorrection(boolean) biasCorrection(true)} every target's
 * bias is then corrected to the float network's mean pre-activation ({@link BiasCorrectionPass}).
 *
 * <p>Bad input fails before any work where it can: no quantizable weights, a solver that needs calibration without
 * data, a group size that does not divide a layer's width under {@link GroupFallback#REFUSE}, NaN/Inf weights
 * (every weight is checked first). Calibration problems (empty set, wrong width, NaN/Inf activations) fail when
 * the layer is reached. Every error names the layer; nothing is returned (so nothing can be written) unless every
 * target succeeded.
 */
public final class PtqPipeline {
    /** Calibration rows kept per layer for the in-sample output error when there is no held-out data. */
    public static final int DEFAULT_RESERVOIR_ROWS = LayerStats.DEFAULT_RESERVOIR_ROWS;
    /** Held-out rows kept per layer for the output error. */
    public static final int DEFAULT_ERROR_ROWS = 2048;

    private final TargetSolver solver;
    private final QuantSpec spec;
    private final String specName;
    private final String specJson;
    private final GroupFallback groupFallback;
    private final CalibrationData calibration;
    private final CalibrationData heldOut;
    private final int reservoirRows;
    private final int errorRows;
    private final long seed;
    private final PtqListener listener;
    private final String sourceModel;
    private final boolean sequential;
    private final boolean biasCorrection;

    private PtqPipeline(Builder b) {
        this.solver = b.solver;
        this.spec = b.spec;
        this.specName = b.spec != null ? b.spec.shortName() : b.solver.description();
        this.specJson = b.spec != null ? b.spec.toJson() : b.solver.description();
        this.groupFallback = b.groupFallback;
        this.calibration = b.calibration;
        this.heldOut = b.heldOut;
        this.reservoirRows = b.reservoirRows;
        this.errorRows = b.errorRows;
        this.seed = b.seed;
        this.listener = b.listener;
        this.sourceModel = b.sourceModel;
        this.sequential = b.sequential;
        this.biasCorrection = b.biasCorrection;
    }

    /**
     * A pipeline running {@code solver} with {@code spec}. An {@link Awq} runs as AWQ on the whole network
     * ({@link AwqTargets}: scales searched on the float network, folded into the previous Dense where exact, else
     * stored as {@code <target>/input_scale}; then clip search and quantization); its inputs always come from the
     * float network, whatever {@link Builder#sequential(boolean)} says.
     */
    public static Builder builder(WeightSolver solver, QuantSpec spec) {
        return new Builder(TargetSolver.of(Objects.requireNonNull(solver, "solver")), Objects.requireNonNull(spec, "spec"));
    }

    /** A pipeline running CLAQ (its widths from {@link Claq#params()}; no spec, no group fallback). */
    public static Builder builder(Claq claq) {
        return new Builder(TargetSolver.of(Objects.requireNonNull(claq, "claq")), null);
    }

    /** Quantizes a clone of {@code net}; {@code net} itself is not changed. */
    public PtqResult<MultiLayerNetwork> quantize(MultiLayerNetwork net) {
        MultiLayerNetwork copy = net.clone();
        Run run = run(Dl4jNetwork.of(copy), AwqFolds.of(copy), () -> CalibrationRunner.of(sequential() ? copy : net),
                () -> CalibrationRunner.of(copy));
        return new PtqResult<>(copy, run.model, run.report);
    }

    /** Quantizes a clone of {@code graph} (calibration needs a single-input graph); {@code graph} is not changed. */
    public PtqResult<ComputationGraph> quantize(ComputationGraph graph) {
        ComputationGraph copy = graph.clone();
        Run run = run(Dl4jNetwork.of(copy), AwqFolds.of(copy), () -> CalibrationRunner.of(sequential() ? copy : graph),
                () -> CalibrationRunner.of(copy));
        return new PtqResult<>(copy, run.model, run.report);
    }

    /** Whether targets are calibrated on the quantized network (false for AWQ, which uses float inputs). */
    private boolean sequential() {
        return sequential && !solver.floatInputs();
    }

    private record Run(QuantizedModel model, PtqReport report) {}

    /** A target and the spec it gets (null for CLAQ). */
    record Plan(WeightTarget target, QuantSpec spec, String note) {}

    /**
     * @param runners    the runner calibration captures on (the copy, or the float network)
     * @param copyRunner a runner on the copy {@code view} shows, for bias correction
     */
    private Run run(Dl4jNetwork view, AwqFolds folds, Supplier<CalibrationRunner> runners,
                    Supplier<CalibrationRunner> copyRunner) {
        long start = System.nanoTime();
        List<Plan> plans = plan(view);
        CalibrationRunner runner = calibration != null || heldOut != null ? runners.get() : null;
        if (solver.needsCalibration()) {
            plans.forEach(p -> runner.inputWidth(p.target())); // every target must be capturable
        }
        TargetSolver run = solver.prepare(view, folds, plans, i -> calibration.collect(runner, plans.get(i).target(),
                reservoirRows, seed + i, CalibrationRunner.BatchListener.NONE));
        BiasCorrectionPass correction = biasCorrection ? BiasCorrectionPass.capture(view, copyRunner.get(), calibration,
                plans.stream().map(Plan::target).toList(), listener) : null;
        QuantizedModel.Builder model = QuantizedModel.builder().sourceModel(sourceModel)
                .metadata("method", solver.name()).metadata("solver", solver.description()).metadata("spec", specJson)
                .metadata("groupFallback", groupFallback.name())
                .metadata("calibration", calibration == null ? "none" : calibration.description())
                .metadata("seed", Long.toString(seed)).metadata("sequential", Boolean.toString(sequential()))
                .metadata("biasCorrection", Boolean.toString(biasCorrection));
        List<LayerReport> layers = new ArrayList<>();
        long weightBits = 0;
        long weights = 0;
        for (int i = 0; i < plans.size(); i++) {
            Plan plan = plans.get(i);
            listener.layerStarted(i, plans.size(), plan.target(), steps());
            LayerOutcome outcome = quantizeLayer(view, runner, run, plan, seed + i);
            outcome.stored.addTo(model, plan.target().name());
            weightBits += 8 * outcome.stored.storageBytes();
            weights += outcome.stored.size();
            layers.add(outcome.report);
            listener.layerFinished(i, plans.size(), outcome.report);
        }
        if (correction != null) {
            Map<String, String> notes = correction.apply(listener);
            layers.replaceAll(l -> withNote(l, notes.get(l.layer())));
        }
        view.otherParams().forEach((name, p) -> model.addFloat(name, new FloatTensor(p.shape(), p.dup('c').toFloatVector())));
        PtqReport report = new PtqReport(sourceModel, solver.name(), solver.description(), specName, specJson,
                groupFallback.name(), calibration == null ? "none" : calibration.description(), sequential(),
                errorRowsDescription(),
                seed, OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString(), machine(),
                seconds(System.nanoTime() - start), (double) weightBits / weights, layers, biasCorrection);
        return new Run(model.build(), report);
    }

    private static LayerReport withNote(LayerReport l, String note) {
        return note == null ? l : new LayerReport(l.layer(), l.layerType(), l.shape(), l.spec(),
                l.note().isEmpty() ? note : l.note() + "; " + note, l.calibrationRows(), l.errorRows(), l.heldOut(),
                l.outputError(), l.weightError(), l.bitsPerWeight(), l.calibrationSeconds(), l.solveSeconds());
    }

    /** Fits the spec to every target and checks every weight before any work is done. */
    private List<Plan> plan(Dl4jNetwork view) {
        List<WeightTarget> targets = view.targets();
        if (targets.isEmpty()) {
            throw new QuantizationException("the network has no quantizable weights (layer types "
                    + Dl4jNetwork.supportedLayerTypes() + ")");
        }
        if (solver.needsCalibration() && calibration == null) {
            throw new QuantizationException(solver.name() + " needs calibration data, but none was given");
        }
        if (biasCorrection && calibration == null) {
            throw new QuantizationException("bias correction needs calibration data (the mean input of every layer "
                    + "over it), but none was given: add calibration(...) or turn biasCorrection off");
        }
        List<Plan> plans = new ArrayList<>();
        for (WeightTarget t : targets) {
            INDArray w = view.weight(t);
            long cols = w.length() / w.size(0);
            if (spec == null) {
                Quantizer.validate(t.name(), w.data().asFloat(), w.shape()); // CLAQ: no spec, only finite values
                plans.add(new Plan(t, null, ""));
                continue;
            }
            QuantSpec fitted = groupFallback.fit(t.name(), spec, cols);
            Quantizer.validate(t.name(), w.data().asFloat(), w.shape(), fitted);
            String note = fitted.equals(spec) ? "" : "group " + spec.granularity().groupSize() + " -> "
                    + fitted.granularity() + " (" + cols + " columns)";
            plans.add(new Plan(t, fitted, note));
        }
        return plans;
    }

    private record LayerOutcome(StoredWeight stored, LayerReport report) {}

    private LayerOutcome quantizeLayer(Dl4jNetwork view, CalibrationRunner runner, TargetSolver run, Plan plan,
                                       long layerSeed) {
        WeightTarget t = plan.target();
        long t0 = System.nanoTime();
        boolean capturable = runner != null && runner.supports(t);
        LayerStats stats = calibration != null && capturable ? calibration.collect(runner, t, reservoirRows, layerSeed,
                (batches, rows) -> listener.layerStep(t, "calibration")) : null;
        LayerStats errorStats = heldOut != null && capturable ? heldOut.collect(runner, t, errorRows, layerSeed,
                (batches, rows) -> listener.layerStep(t, "held-out")) : stats;
        long t1 = System.nanoTime();
        INDArray w = view.weight(t);
        TargetSolver.Solved solved = run.solve(t, w, stats, plan.spec());
        long t2 = System.nanoTime();
        listener.layerStep(t, "solve");
        INDArray reference = solved.reference();
        INDArray approximation = solved.approximation();
        Double outputError = errorStats == null ? null
                : OutputError.relative(reference, approximation, errorStats.sampleRows());
        view.setWeight(t, solved.network());
        String note = plan.note().isEmpty() ? solved.note()
                : solved.note().isEmpty() ? plan.note() : plan.note() + "; " + solved.note();
        LayerReport report = new LayerReport(t.name(), t.layerType(), w.shape(),
                plan.spec() == null ? specName : plan.spec().shortName(), note,
                stats == null ? 0 : stats.rowCount(), errorStats == null ? 0 : errorStats.sampleCount(),
                heldOut != null && errorStats != null, outputError, weightError(reference, approximation),
                solved.stored().bitsPerWeight(), seconds(t1 - t0), seconds(t2 - t1));
        return new LayerOutcome(solved.stored(), report);
    }

    private long steps() {
        if (calibration != null && calibration.batches() < 0 || heldOut != null && heldOut.batches() < 0) {
            return -1;
        }
        return (calibration == null ? 0 : calibration.batches()) + (heldOut == null ? 0 : heldOut.batches()) + 1;
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
        double difference = w.sub(dequantized).norm2Number().doubleValue();
        double norm = w.norm2Number().doubleValue();
        return norm == 0 ? (difference == 0 ? 0 : Double.POSITIVE_INFINITY) : difference * difference / (norm * norm);
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static String machine() {
        return Runtime.getRuntime().availableProcessors() + " processors, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version");
    }

    /** Options of a {@link PtqPipeline}. */
    public static final class Builder {
        private final TargetSolver solver;
        private final QuantSpec spec;
        private GroupFallback groupFallback = GroupFallback.REFUSE;
        private CalibrationData calibration;
        private CalibrationData heldOut;
        private int reservoirRows = DEFAULT_RESERVOIR_ROWS;
        private int errorRows = DEFAULT_ERROR_ROWS;
        private long seed;
        private PtqListener listener = PtqListener.NONE;
        private String sourceModel = "";
        private boolean sequential = true;
        private boolean biasCorrection;

        private Builder(TargetSolver solver, QuantSpec spec) {
            this.solver = solver;
            this.spec = spec;
        }

        /** What to do with layers whose width the group size does not divide (default {@link GroupFallback#REFUSE}). */
        public Builder groupFallback(GroupFallback policy) {
            this.groupFallback = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Calibration inputs (required by solvers that need calibration; optional otherwise). */
        public Builder calibration(CalibrationData data) {
            this.calibration = Objects.requireNonNull(data, "data");
            return this;
        }

        /** Held-out inputs on which the output error is measured (default: the calibration reservoir, in-sample). */
        public Builder heldOut(CalibrationData data) {
            this.heldOut = Objects.requireNonNull(data, "data");
            return this;
        }

        /** Calibration rows each layer's statistics keep (default 512). */
        public Builder reservoirRows(int rows) {
            this.reservoirRows = positive(rows, "reservoir rows");
            return this;
        }

        /** Held-out rows per layer the output error is measured on (default 2048). */
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
         * True (the default): each target is calibrated on the outputs of the already-quantized targets before it.
         * False: every target is calibrated (and its output error measured) on the inputs of the unquantized
         * network, which compares solvers layer by layer on identical inputs.
         */
        public Builder sequential(boolean sequential) {
            this.sequential = sequential;
            return this;
        }

        /**
         * Empirical bias correction ({@link org.quant4j.ptq.BiasCorrection}, default false, as in the solvers'
         * references): once every target is quantized, each target's bias is shifted, in network order, so that its
         * mean pre-activation over the calibration data is the float network's again, {@code b' = b + W·E[x] −
         * Ŵ·E[x̂]} ({@link BiasCorrectionPass}). Needs calibration data. The corrected biases are in the result's
         * network and its model's fp32 tensors; the per-layer output error stays the weight-only
         * {@code ‖WX − ŴX‖²/‖WX‖²}, which the bias does not enter.
         */
        public Builder biasCorrection(boolean on) {
            this.biasCorrection = on;
            return this;
        }

        /** The model's name for the model file and the report. */
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
