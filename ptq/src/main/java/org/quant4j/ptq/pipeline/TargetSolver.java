package org.quant4j.ptq.pipeline;

import java.util.List;
import java.util.function.IntFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.QuantSpec;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.StoredWeight;
import org.quant4j.model.WeightTarget;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.awq.InputScaledSolver;
import org.quant4j.ptq.WeightSolver;

/**
 * What {@link PtqPipeline} runs per target: a {@link WeightSolver} (its tensor stored as is), {@link Claq} (its
 * codebooks) or AWQ ({@link AwqTargets}: scales searched and folded for the whole network first).
 */
interface TargetSolver {
    /** Short name: rtn, gptq, hqq, awq, claq. */
    String name();

    /** The solver with its options, for the report. */
    String description();

    boolean needsCalibration();

    /**
     * Whether every input is captured on the unquantized network, whatever the pipeline's {@code sequential}
     * option (AWQ: AutoAWQ computes all scales and clips on float inputs).
     */
    default boolean floatInputs() {
        return false;
    }

    /**
     * The solver of one run, before any target is solved: AWQ searches every target's scales and folds them into
     * {@code view} here. {@code calibration} gives target {@code i}'s calibration statistics (float inputs).
     */
    default TargetSolver prepare(Dl4jNetwork view, AwqFolds folds, List<PtqPipeline.Plan> plans,
                                 IntFunction<LayerStats> calibration) {
        return this;
    }

    /**
     * Solves one target.
     *
     * @param w the target's current weight in the network, {@code [out, in...]}
     */
    Solved solve(WeightTarget target, INDArray w, LayerStats stats, QuantSpec spec);

    /**
     * One target's outcome.
     *
     * @param stored        what the model file holds
     * @param network       the weight written back into the network
     * @param reference     the float weight the output error is measured against
     * @param approximation its quantized counterpart in the same domain (for most solvers {@code network})
     * @param note          what the solver did, for the report (may be empty)
     */
    record Solved(StoredWeight stored, INDArray network, INDArray reference, INDArray approximation, String note) {}

    static TargetSolver of(WeightSolver solver) {
        if (solver instanceof InputScaledSolver) {
            if (solver instanceof Awq awq) {
                return new AwqTargets(awq);
            }
            throw new IllegalArgumentException("the pipeline runs the input-scaling solver AWQ (Awq) only, got "
                    + solver.getClass().getName());
        }
        return new TargetSolver() {
            @Override public String name() { return solver.name(); }
            @Override public String description() { return solver.toString(); }
            @Override public boolean needsCalibration() { return solver.needsCalibration(); }

            @Override
            public Solved solve(WeightTarget target, INDArray w, LayerStats stats, QuantSpec spec) {
                StoredWeight stored = new StoredWeight.Grid(solver.solve(target.name(), w, stats, spec));
                INDArray dequantized = stored.effectiveWeightArray();
                return new Solved(stored, dequantized, w, dequantized, "");
            }
        };
    }

    static TargetSolver of(Claq claq) {
        return new TargetSolver() {
            @Override public String name() { return claq.name(); }
            @Override public String description() { return claq.toString(); }
            @Override public boolean needsCalibration() { return true; }

            @Override
            public Solved solve(WeightTarget target, INDArray w, LayerStats stats, QuantSpec spec) {
                StoredWeight stored = new StoredWeight.Codebooks(claq.solve(target.name(), w, stats));
                INDArray dequantized = stored.effectiveWeightArray();
                return new Solved(stored, dequantized, w, dequantized, "");
            }
        };
    }
}
