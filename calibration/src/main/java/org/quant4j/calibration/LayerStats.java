package org.quant4j.calibration;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

/**
 * Streaming statistics of one layer's inputs, accumulated over calibration batches with bounded memory
 * (independent of the number of rows seen):
 * <ul>
 *   <li>the GPTQ Hessian {@code H = 2/n · Σ x xᵀ}, float32, accumulated as the reference
 *       implementation does (IST-DASLab/gptq {@code GPTQ.add_batch}): for a batch of {@code m} rows,
 *       {@code H ← n/(n+m) · H + 2/(n+m) · XᵀX}, {@code n ← n+m}, so {@code H} is always the running
 *       mean; the batch product is one ND4J gemm;</li>
 *   <li>the per-input-channel mean {@code |x|} (the activation statistic of AWQ), accumulated in double;</li>
 *   <li>a uniform sample of at most {@code reservoirRows} input rows (reservoir sampling, Vitter's
 *       Algorithm R, seeded), for measuring a quantized layer's output error. The sample depends only
 *       on the sequence of rows and the seed, not on how the rows were split into batches.</li>
 * </ul>
 * Not thread-safe: one instance per layer, fed by one thread.
 */
public final class LayerStats {
    /** Rows kept by the reservoir unless told otherwise. */
    public static final int DEFAULT_RESERVOIR_ROWS = 512;

    /** Rows copied to the Java heap at a time when scanning a batch. */
    private static final int SCAN_ROWS = 256;

    private final int inFeatures;
    private final int reservoirCapacity;
    private final SplittableRandom random;
    private final double[] absSum;
    private final float[] reservoir;
    private final boolean withHessian;
    private String layer;
    private INDArray hessian;
    private long rows;
    /** A derived snapshot ({@link #inputsDividedBy}) that takes no more rows. */
    private boolean frozen;

    /** Statistics of a layer with {@code inFeatures} inputs, a 512-row reservoir, seed 0. */
    public LayerStats(int inFeatures) {
        this(null, inFeatures, DEFAULT_RESERVOIR_ROWS, 0L);
    }

    /**
     * @param layer         names the layer in error messages (may be null: the first {@link #accumulate}
     *                      call then names it)
     * @param reservoirRows how many input rows to keep (0 keeps none)
     * @param seed          seed of the reservoir's random choices
     */
    public LayerStats(String layer, int inFeatures, int reservoirRows, long seed) {
        this(layer, inFeatures, reservoirRows, seed, true);
    }

    /**
     * @param withHessian false skips the Hessian ({@code n·in²} operations per batch) for users that need only
     *                    the mean {@code |x|} and the row sample (e.g. measuring a calibration-free solver's error);
     *                    {@link #hessian()} then throws
     */
    public LayerStats(String layer, int inFeatures, int reservoirRows, long seed, boolean withHessian) {
        if (inFeatures < 1) {
            throw new InvalidTensorException(describe(layer) + ": a layer needs at least one input, got " + inFeatures);
        }
        if (reservoirRows < 0) {
            throw new IllegalArgumentException("reservoirRows must be >= 0, got " + reservoirRows);
        }
        this.layer = layer;
        this.inFeatures = inFeatures;
        this.reservoirCapacity = reservoirRows;
        this.random = new SplittableRandom(seed);
        this.absSum = new double[inFeatures];
        this.reservoir = new float[Math.multiplyExact(reservoirRows, inFeatures)];
        this.withHessian = withHessian;
    }

    /**
     * The statistics of the inputs divided channel by channel by {@code s} ({@code x·diag(1/s)}, the inputs a weight
     * {@code W·diag(s)} sees after AWQ's scaling): Hessian {@code diag(1/s)·H·diag(1/s)}, mean {@code |x|/s}, the same
     * reservoir rows divided by {@code s}. A snapshot: it cannot accumulate further.
     *
     * @throws InvalidTensorException if {@code s} does not have one positive finite value per input
     */
    public LayerStats inputsDividedBy(float[] s) {
        if (s.length != inFeatures) {
            throw new InvalidTensorException(describe(layer) + ": " + s.length + " input scales for " + inFeatures + " inputs");
        }
        float[] inverse = new float[inFeatures];
        for (int c = 0; c < inFeatures; c++) {
            if (!(s[c] > 0) || !Float.isFinite(s[c])) {
                throw new InvalidTensorException(describe(layer) + ": input scale " + c + " is " + s[c]);
            }
            inverse[c] = 1f / s[c];
        }
        LayerStats out = new LayerStats(layer, inFeatures, reservoirCapacity, 0L, withHessian);
        out.rows = rows;
        out.frozen = true;
        for (int c = 0; c < inFeatures; c++) {
            out.absSum[c] = absSum[c] / s[c];
        }
        for (int i = 0; i < reservoir.length; i++) {
            out.reservoir[i] = reservoir[i] * inverse[i % inFeatures];
        }
        if (hessian != null) {
            INDArray inv = Nd4j.create(inverse, new long[] {inFeatures}, 'c');
            out.hessian = hessian.dup('c').muliRowVector(inv.reshape(1, inFeatures)).muliColumnVector(inv.reshape(inFeatures, 1));
        }
        return out;
    }

    public int inFeatures() {
        return inFeatures;
    }

    /** The layer these statistics describe, or null if never named. */
    public String layer() {
        return layer;
    }

    /**
     * Adds a batch of input rows: {@code [rows, inFeatures]}, or {@code [batch, sequence, inFeatures]}
     * (flattened to rows). The batch is not modified. A batch with zero rows changes nothing.
     *
     * @throws InvalidTensorException naming {@code layer} if the width is not {@link #inFeatures()} or
     *                                an activation is NaN or infinite (then nothing is accumulated)
     */
    public void accumulate(String layer, INDArray batch) {
        if (frozen) {
            throw new IllegalStateException(describe(this.layer) + ": derived statistics take no more rows");
        }
        if (this.layer == null) {
            this.layer = layer;
        }
        checkShape(layer, batch);
        INDArray floats = batch.dataType() == DataType.FLOAT && batch.ordering() == 'c' && !batch.isView()
                ? batch : batch.castTo(DataType.FLOAT).dup('c');
        try {
            INDArray x = floats.rank() == 3 ? floats.reshape('c', floats.size(0) * floats.size(1), inFeatures) : floats;
            int m = Math.toIntExact(x.rows());
            if (m > 0) {
                scan(layer, x, m);
                if (withHessian) {
                    accumulateHessian(x, m);
                } else {
                    rows += m;
                }
            }
        } finally {
            if (floats != batch) {
                floats.close();
            }
        }
    }

    /** Whether these statistics accumulate the Hessian (false when built with {@code withHessian = false}). */
    public boolean hasHessian() {
        return withHessian;
    }

    /** Rows seen so far. */
    public long rowCount() {
        return rows;
    }

    /**
     * The Hessian {@code 2/n · XᵀX}, {@code [in, in]} float, c order (a copy the caller owns).
     *
     * @throws InvalidTensorException naming the layer if no rows were accumulated
     */
    public INDArray hessian() {
        if (!withHessian) {
            throw new IllegalStateException(describe(layer) + ": these statistics were collected without a Hessian");
        }
        requireRows("a Hessian");
        return hessian.dup('c');
    }

    /**
     * A read-only view of the Hessian {@code 2/n · XᵀX}, row-major {@code [in, in]}, without the copy
     * {@link #hessian()} makes; it follows later {@link #accumulate} calls.
     *
     * @throws InvalidTensorException naming the layer if no rows were accumulated
     */
    public FloatBuffer hessianValues() {
        if (!withHessian) {
            throw new IllegalStateException(describe(layer) + ": these statistics were collected without a Hessian");
        }
        requireRows("a Hessian");
        return hessian.data().asNioFloat().asReadOnlyBuffer();
    }

    /** Per-input-channel mean {@code |x|} over all rows seen (a copy). */
    public float[] meanAbs() {
        requireRows("mean activations");
        float[] mean = new float[inFeatures];
        for (int c = 0; c < inFeatures; c++) {
            mean[c] = (float) (absSum[c] / rows);
        }
        return mean;
    }

    /** Rows the reservoir holds: {@code min(rowCount, capacity)}. */
    public int sampleCount() {
        return (int) Math.min(rows, reservoirCapacity);
    }

    /** The reservoir's rows, {@code [sampleCount, inFeatures]} float (a copy), in slot order. */
    public INDArray sampleRows() {
        requireRows("sample rows");
        int k = sampleCount();
        return Nd4j.create(Arrays.copyOf(reservoir, k * inFeatures), new long[] {k, inFeatures}, DataType.FLOAT);
    }

    private void requireRows(String what) {
        if (rows == 0) {
            throw new InvalidTensorException(describe(layer) + ": no calibration rows were accumulated, so there are no "
                    + what + "; feed at least one batch of inputs first");
        }
    }

    private void checkShape(String layer, INDArray batch) {
        long[] shape = batch.shape();
        if (shape.length < 2 || shape.length > 3) {
            throw new InvalidTensorException(describe(layer) + ": calibration input must be [rows, " + inFeatures
                    + "] or [batch, sequence, " + inFeatures + "], got shape " + Arrays.toString(shape));
        }
        long width = shape[shape.length - 1];
        if (width != inFeatures) {
            throw new InvalidTensorException(describe(layer) + ": calibration rows have width " + width + ", expected "
                    + inFeatures + " (shape " + Arrays.toString(shape) + ")");
        }
    }

    /** Checks every value, adds |x| per channel and offers each row to the reservoir; all or nothing. */
    private void scan(String layer, INDArray x, int m) {
        FloatBuffer data = x.data().asNioFloat();
        long offset = x.offset();
        float[] chunk = new float[Math.min(m, SCAN_ROWS) * inFeatures];
        for (int r0 = 0; r0 < m; r0 += SCAN_ROWS) { // validate the whole batch before changing any state
            int k = Math.min(SCAN_ROWS, m - r0);
            data.get((int) (offset + (long) r0 * inFeatures), chunk, 0, k * inFeatures);
            for (int i = 0; i < k * inFeatures; i++) {
                if (!Float.isFinite(chunk[i])) {
                    throw new InvalidTensorException(describe(layer) + ": calibration activation " + chunk[i]
                            + " at batch row " + (r0 + i / inFeatures) + ", input " + (i % inFeatures)
                            + ": activations must be finite");
                }
            }
        }
        for (int r0 = 0; r0 < m; r0 += SCAN_ROWS) {
            int k = Math.min(SCAN_ROWS, m - r0);
            data.get((int) (offset + (long) r0 * inFeatures), chunk, 0, k * inFeatures);
            for (int r = 0; r < k; r++) {
                int base = r * inFeatures;
                for (int c = 0; c < inFeatures; c++) {
                    absSum[c] += Math.abs(chunk[base + c]);
                }
                offerToReservoir(chunk, base, rows + r0 + r);
            }
        }
    }

    /** Algorithm R: row number {@code seen} (0-based) replaces a uniform slot with probability capacity/(seen+1). */
    private void offerToReservoir(float[] chunk, int base, long seen) {
        if (reservoirCapacity == 0) {
            return;
        }
        long slot = seen < reservoirCapacity ? seen : random.nextLong(seen + 1);
        if (slot < reservoirCapacity) {
            System.arraycopy(chunk, base, reservoir, (int) slot * inFeatures, inFeatures);
        }
    }

    /** {@code H ← n/(n+m)·H + 2/(n+m)·XᵀX} in one gemm; {@code n ← n+m}. */
    private void accumulateHessian(INDArray x, int m) {
        if (hessian == null) {
            hessian = Nd4j.zeros(DataType.FLOAT, inFeatures, inFeatures);
        }
        long total = rows + m;
        double keep = (double) rows / total;
        double scale = 2.0 / total;
        Nd4j.gemm(x, x, hessian, true, false, scale, keep);
        rows = total;
    }

    private static String describe(String layer) {
        return layer == null ? "layer (unnamed)" : "layer '" + layer + "'";
    }
}
