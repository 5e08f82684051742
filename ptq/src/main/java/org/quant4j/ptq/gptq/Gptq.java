package org.quant4j.ptq.gptq;

import org.quant4j.ptq.IntTensors;
import org.quant4j.ptq.RangeSearch;
import org.quant4j.ptq.ScaleLayout;
import org.quant4j.ptq.SymmetricPermutation;
import org.quant4j.ptq.GridSolver;
import org.quant4j.ptq.rtn.Rtn;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.formats.IntGrid;

/**
 * GPTQ (Frantar, Ashkboos, Hoefler, Alistarh: "GPTQ: Accurate Post-Training Quantization for
 * Generative Pre-trained Transformers", ICLR 2023), Algorithm 1, with the options of the reference
 * implementation (IST-DASLab/gptq {@code GPTQ.fasterquant}, AutoGPTQ):
 * <ul>
 *   <li>dead inputs: a zero Hessian diagonal entry gets diagonal 1 and its weight column is zeroed;</li>
 *   <li>dampening {@code λ = percDamp · mean(diag H)} (default 0.01), escalated ×10 (from 0.01 when
 *       0) up to {@code maxPercDamp} while the factorization fails, instead of producing NaNs;</li>
 *   <li>the upper Cholesky factor of the inverse Hessian ({@link InverseHessianFactor});</li>
 *   <li>lazy batch updates in blocks of {@code blockSize} (default 128) columns ({@link GptqSweep});</li>
 *   <li>groups whose parameters are fitted when their first column is reached, on the columns'
 *       current (error-updated) values, or with {@code staticGroups} once before the sweep on the
 *       original weights;</li>
 *   <li>act-order ({@code desc_act}): columns processed by decreasing Hessian diagonal, the codes put
 *       back in the original column order; with groups formed during the sweep, groups are
 *       consecutive in processing order and the result carries a
 *       {@linkplain QuantizedTensor#groupIndex() group index} (AutoGPTQ's {@code g_idx}).</li>
 * </ul>
 * One deliberate difference: the reference fits a group that starts inside a block on the weights
 * as they were at the block's start (its inner loop updates a copy), so its result depends on the
 * block size; here a group is fitted on the values Algorithm 1 has at that point, so the result does
 * not depend on the block size. Per-channel and per-tensor parameters are fitted once, after dead
 * columns are zeroed.
 *
 * <p>An instance keeps its native scratch memory ({@link GptqWorkspace}: the Hessian's factor, the
 * permuted weights, a block's errors) between solves, so that a model's layers reuse it; it is freed
 * by {@link #releaseWorkspace()} or when the instance is garbage-collected. Solves may run
 * concurrently (each then has its own workspace).
 *
 * <p>Weights are {@code [out, in]} (any rank: {@code shape[0] × rest}); INT specs only.
 */
public final class Gptq implements GridSolver {
    public static final int DEFAULT_BLOCK_SIZE = 128;
    public static final double DEFAULT_PERC_DAMP = 0.01;
    public static final double DEFAULT_MAX_PERC_DAMP = 10;

    private final int blockSize;
    private final double percDamp;
    private final double maxPercDamp;
    private final boolean actOrder;
    private final boolean staticGroups;
    private final RangeSearch range;
    private final AtomicReference<GptqWorkspace> spare = new AtomicReference<>();

    private Gptq(Builder b) {
        this.blockSize = b.blockSize;
        this.percDamp = b.percDamp;
        this.maxPercDamp = b.maxPercDamp;
        this.actOrder = b.actOrder;
        this.staticGroups = b.staticGroups;
        this.range = b.range;
    }

    /** GPTQ with the reference defaults: block 128, 1% dampening, no act-order, min-max ranges. */
    public Gptq() {
        this(builder());
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The outcome of one layer: the tensor and what it took. */
    public record Result(QuantizedTensor tensor, double percDamp, double proxyLoss) {}

    @Override
    public String name() {
        return "gptq";
    }

    @Override
    public boolean needsCalibration() {
        return true;
    }

    @Override
    public QuantizedTensor solve(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        return solveDetailed(layer, w, stats, spec).tensor();
    }

    /** {@link #solve}, also reporting the damping used and the proxy loss. */
    public Result solveDetailed(String layer, INDArray w, LayerStats stats, QuantSpec spec) {
        if (stats == null || stats.rowCount() == 0) {
            throw new InvalidTensorException("layer '" + layer + "': GPTQ needs calibration statistics, but "
                    + (stats == null ? "none were given" : "no calibration rows were accumulated"));
        }
        long cols = columns(w);
        if (stats.inFeatures() != cols) {
            throw new InvalidTensorException("layer '" + layer + "': the weight has " + cols + " input columns (shape "
                    + Arrays.toString(w.shape()) + ") but the statistics were collected for " + stats.inFeatures()
                    + " inputs");
        }
        return run(layer, w, stats.hessianValues(), spec);
    }

    /**
     * GPTQ with a given Hessian ({@code [in, in]}, symmetric positive semi-definite; not modified).
     */
    public Result solveWithHessian(String layer, INDArray w, INDArray hessian, QuantSpec spec) {
        long cols = columns(w);
        if (hessian.rank() != 2 || hessian.size(0) != cols || hessian.size(1) != cols) {
            throw new InvalidTensorException("layer '" + layer + "': the Hessian must be [" + cols + ", " + cols
                    + "] for a weight of shape " + Arrays.toString(w.shape()) + ", got " + Arrays.toString(hessian.shape()));
        }
        INDArray copy = isFlatFloat(hessian) ? null : hessian.castTo(DataType.FLOAT).dup('c');
        try {
            return run(layer, w, (copy == null ? hessian : copy).data().asNioFloat(), spec);
        } finally {
            if (copy != null) {
                copy.close();
            }
        }
    }

    /** Frees the native scratch memory kept from earlier solves (a later solve allocates it again). */
    public void releaseWorkspace() {
        GptqWorkspace ws = spare.getAndSet(null);
        if (ws != null) {
            ws.close();
        }
    }

    /** Runs GPTQ reading the Hessian from {@code h} (row-major {@code [n, n]}; not modified). */
    private Result run(String layer, INDArray w, FloatBuffer h, QuantSpec spec) {
        if (spec.format() != Format.INT) {
            throw new InvalidSpecException("layer '" + layer + "': GPTQ quantizes to INT grids, got " + spec
                    + "; use Rtn for " + spec.format());
        }
        IntGrid grid = IntGrid.of(spec);
        long[] shape = w.shape();
        int rows = (int) shape[0];
        int n = (int) columns(w);
        if (spec.granularity().kind() == Granularity.Kind.GROUP && n % spec.granularity().groupSize() != 0) {
            throw new InvalidTensorException("layer '" + layer + "': group size " + spec.granularity().groupSize()
                    + " does not divide the " + n + " input columns");
        }
        INDArray copy = isFlatFloat(w) ? null : w.castTo(DataType.FLOAT).reshape('c', rows, n).dup('c');
        GptqWorkspace ws = spare.getAndSet(null);
        if (ws == null) {
            ws = new GptqWorkspace();
        }
        try {
            ws.ensure(rows, n, blockSize);
            return quantize(layer, spec, grid, shape, rows, n, (copy == null ? w : copy).data().asNioFloat(), h, ws);
        } finally {
            if (copy != null) {
                copy.close();
            }
            GptqWorkspace other = spare.getAndSet(ws);
            if (other != null) {
                other.close();
            }
        }
    }

    /** Whether {@code a}'s buffer holds exactly its float elements in c order (no copy needed). */
    private static boolean isFlatFloat(INDArray a) {
        return a.dataType() == DataType.FLOAT && a.ordering() == 'c' && !a.isView() && a.offset() == 0
                && a.data().length() == a.length();
    }

    private Result quantize(String layer, QuantSpec spec, IntGrid grid, long[] shape, int rows, int n, FloatBuffer w,
                            FloatBuffer h, GptqWorkspace ws) {
        float[] diag = new float[n];
        boolean[] dead = deadInputs(layer, h, n, diag);
        int[] order = actOrder ? descendingOrder(diag) : IntStream.range(0, n).toArray();
        ScaleLayout layout = ScaleLayout.of(spec.granularity(), rows, order, staticGroups);
        float[] scales = new float[layout.blocks()];
        float[] zeros = new float[layout.blocks()];
        prepareWeights(layer, spec, grid, w, ws.weights(), rows, n, dead, order, layout, scales, zeros);
        double damp = InverseHessianFactor.factorCopy(layer, h, diag, ws.hessian(), ws.hessianPointer(), order, percDamp,
                maxPercDamp);
        byte[] codes = new byte[Math.multiplyExact(rows, n)];
        double loss = new GptqSweep(layer, grid, range, layout, order, rows).run(ws, blockSize, codes, scales, zeros);
        QuantizedTensor tensor = IntTensors.assemble(spec, shape, codes, scales, zeros, layout.groupIndex(order));
        return new Result(tensor, damp, loss);
    }

    /** Dead inputs (zero diagonal): diagonal set to 1. Rejects non-finite and negative diagonals. */
    public static boolean[] markDeadInputs(String layer, FloatBuffer hb, int n) {
        boolean[] dead = deadInputs(layer, hb, n, new float[n]);
        for (int i = 0; i < n; i++) {
            if (dead[i]) {
                hb.put(i * n + i, 1f);
            }
        }
        return dead;
    }

    /**
     * Dead inputs (zero diagonal) of {@code hb}, which is not modified; {@code diag} receives the
     * diagonal with 1 at dead inputs. Rejects non-finite and negative diagonals.
     */
    static boolean[] deadInputs(String layer, FloatBuffer hb, int n, float[] diag) {
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            float d = hb.get(i * n + i);
            if (!Float.isFinite(d) || d < 0) {
                throw new InvalidTensorException("layer '" + layer + "': Hessian diagonal entry " + i + " is " + d
                        + "; a Hessian 2/n·XᵀX has a finite, non-negative diagonal");
            }
            dead[i] = d == 0;
            diag[i] = dead[i] ? 1f : d;
        }
        return dead;
    }

    /** Column positions by decreasing Hessian diagonal (ties in column order). */
    public static int[] descendingOrder(float[] diag) {
        return IntStream.range(0, diag.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -diag[i]).thenComparingInt(i -> i))
                .mapToInt(Integer::intValue).toArray();
    }

    /**
     * One pass over the weight rows, from {@code source} into the workspace {@code wb}: checks values,
     * zeros dead columns, fits the parameters that are fixed before the sweep (per channel, static
     * groups; per tensor after the pass) and puts the columns in processing order.
     */
    private void prepareWeights(String layer, QuantSpec spec, IntGrid grid, FloatBuffer source, FloatBuffer wb, int rows,
                                int n, boolean[] dead, int[] order, ScaleLayout layout, float[] scales, float[] zeros) {
        Granularity.Kind kind = spec.granularity().kind();
        int g = spec.granularity().groupSize();
        IntStream.range(0, SymmetricPermutation.parallelSlices(rows)).parallel().forEach(s -> {
            float[] row = new float[n];
            float[] permuted = new float[n];
            for (int r = SymmetricPermutation.sliceStart(rows, s); r < SymmetricPermutation.sliceStart(rows, s + 1); r++) {
                source.get(r * n, row, 0, n);
                for (int c = 0; c < n; c++) {
                    if (!Float.isFinite(row[c])) {
                        throw new InvalidTensorException("layer '" + layer + "': weight " + row[c] + " at row " + r
                                + ", column " + c + "; only finite weights can be quantized");
                    }
                    if (dead[c]) {
                        row[c] = 0f;
                    }
                }
                if (kind == Granularity.Kind.CHANNEL) {
                    store(r, fit(layer, grid, row, 0, n, "row " + r), scales, zeros);
                } else if (kind == Granularity.Kind.GROUP && staticGroups) {
                    for (int k = 0; k < n / g; k++) {
                        store(r * (n / g) + k, fit(layer, grid, row, k * g, g, "row " + r + ", group " + k),
                                scales, zeros);
                    }
                }
                for (int j = 0; j < n; j++) {
                    permuted[j] = row[order[j]];
                }
                wb.put(r * n, permuted, 0, n);
            }
        });
        if (kind == Granularity.Kind.TENSOR) {
            float[] all = new float[Math.multiplyExact(rows, n)];
            wb.get(0, all, 0, all.length);
            store(0, fit(layer, grid, all, 0, all.length, "the whole tensor"), scales, zeros);
        }
    }

    private IntGrid.Params fit(String layer, IntGrid grid, float[] data, int offset, int length, String where) {
        try {
            return range.fit(grid, data, offset, length);
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("layer '" + layer + "', " + where + ": " + e.getMessage(), e);
        }
    }

    private static void store(int index, IntGrid.Params p, float[] scales, float[] zeros) {
        scales[index] = p.scale();
        zeros[index] = p.zero();
    }

    private static long columns(INDArray w) {
        if (w.rank() < 2 || w.length() == 0) {
            throw new InvalidTensorException("GPTQ needs a non-empty [out, in] weight, got shape "
                    + Arrays.toString(w.shape()));
        }
        return w.length() / w.size(0);
    }

    @Override
    public String toString() {
        return "gptq(block=" + blockSize + ", percDamp=" + percDamp + ", actOrder=" + actOrder + ", staticGroups="
                + staticGroups + ", range=" + range + ")";
    }

    /** Options of {@link Gptq}; defaults are the reference implementation's. */
    public static final class Builder {
        private int blockSize = DEFAULT_BLOCK_SIZE;
        private double percDamp = DEFAULT_PERC_DAMP;
        private double maxPercDamp = DEFAULT_MAX_PERC_DAMP;
        private boolean actOrder;
        private boolean staticGroups;
        private RangeSearch range = RangeSearch.minMax();

        /** Columns per lazy batch update (default 128). */
        public Builder blockSize(int blockSize) {
            if (blockSize < 1) {
                throw new InvalidSpecException("GPTQ block size must be >= 1, got " + blockSize);
            }
            this.blockSize = blockSize;
            return this;
        }

        /** Dampening as a fraction of the mean Hessian diagonal (default 0.01). */
        public Builder percDamp(double percDamp) {
            if (!(percDamp >= 0) || Double.isInfinite(percDamp)) {
                throw new InvalidSpecException("GPTQ percDamp must be finite and >= 0, got " + percDamp);
            }
            this.percDamp = percDamp;
            return this;
        }

        /** Largest dampening the ×10 escalation may reach (default 10). */
        public Builder maxPercDamp(double maxPercDamp) {
            if (!(maxPercDamp >= 0) || Double.isInfinite(maxPercDamp)) {
                throw new InvalidSpecException("GPTQ maxPercDamp must be finite and >= 0, got " + maxPercDamp);
            }
            this.maxPercDamp = maxPercDamp;
            return this;
        }

        /** Process columns by decreasing Hessian diagonal ({@code desc_act}). */
        public Builder actOrder(boolean actOrder) {
            this.actOrder = actOrder;
            return this;
        }

        /** Fit all group parameters before the sweep, on the original weights. */
        public Builder staticGroups(boolean staticGroups) {
            this.staticGroups = staticGroups;
            return this;
        }

        /** How block parameters are chosen (default min-max; {@link RangeSearch#mse()} as GPTQ's --mse). */
        public Builder range(RangeSearch range) {
            this.range = Objects.requireNonNull(range, "range");
            return this;
        }

        public Gptq build() {
            if (maxPercDamp < percDamp) {
                throw new InvalidSpecException("GPTQ maxPercDamp (" + maxPercDamp + ") is below percDamp (" + percDamp + ")");
            }
            return new Gptq(this);
        }
    }
}
