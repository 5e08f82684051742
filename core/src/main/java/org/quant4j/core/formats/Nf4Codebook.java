package org.quant4j.core.formats;

/**
 * The 16-value 4-bit NormalFloat codebook of QLoRA (Dettmers et al. 2023, sec. 3, "4-bit NormalFloat
 * Quantization"), with the float values of bitsandbytes ({@code create_normal_map(offset=0.9677083)},
 * the NF4 lookup table of its CUDA kernels): code 0 is -1, code 7 is exactly 0, code 15 is +1.
 *
 * <p>Encoding uses bitsandbytes' decision thresholds, the float literals of its {@code dQuantizeNF4}
 * tree: threshold {@code k} is the midpoint of values {@code k} and {@code k+1} (printed to 16 digits,
 * so it can sit one float ulp below the exactly rounded midpoint), and a value gets code {@code k+1}
 * when it is strictly greater than threshold {@code k}. So the nearest value wins, and a value on a
 * threshold takes the lower code (the more negative value). Values beyond ±1 saturate to ±1.
 */
public final class Nf4Codebook implements ElementCodebook {
    private static final float[] VALUES = {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    };

    /** Code of the value 0. */
    public static final int ZERO_CODE = 7;

    /** Threshold k separates code k from code k+1 (bitsandbytes csrc/kernels.cu, dQuantizeNF4). */
    private static final float[] THRESHOLDS = {
        -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
        -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
        0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
        0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f,
    };

    /** Cells of width 1/64 over [-1, 1] (cell 128 holds only +1); each holds at most one threshold. */
    private static final int CELLS_PER_UNIT = 64;

    /** The codebook. */
    public static final Nf4Codebook NF4 = new Nf4Codebook();

    private final float[] thresholds = THRESHOLDS;
    /** Thresholds in cells before cell c: all below any value that falls in cell c. */
    private final int[] thresholdsBelowCell = new int[2 * CELLS_PER_UNIT + 1];
    /** The one threshold inside cell c, or +Inf. */
    private final float[] thresholdInCell = new float[2 * CELLS_PER_UNIT + 1];

    private Nf4Codebook() {
        java.util.Arrays.fill(thresholdInCell, Float.POSITIVE_INFINITY);
        for (float t : THRESHOLDS) {
            int cell = cell(t);
            if (thresholdInCell[cell] != Float.POSITIVE_INFINITY) {
                throw new IllegalStateException("two NF4 thresholds share cell " + cell);
            }
            thresholdInCell[cell] = t;
            for (int c = cell + 1; c < thresholdsBelowCell.length; c++) {
                thresholdsBelowCell[c]++;
            }
        }
    }

    /** Monotone in y, so a threshold in an earlier cell is below y and one in a later cell above it. */
    private static int cell(float y) {
        return (int) ((y + 1f) * CELLS_PER_UNIT);
    }

    /**
     * The code of the nearest codebook value (on a threshold: the lower code) = the number of
     * thresholds {@code v} is strictly above — the result of bitsandbytes' four-comparison tree, found
     * with one table lookup and one comparison: values are clamped to [-1, 1] (which moves no value
     * across a threshold) and located in a cell of width 1/64 holding at most one threshold.
     */
    @Override
    public int encode(float v) {
        float y = v < -1f ? -1f : v > 1f ? 1f : v;
        int c = cell(y);
        return thresholdsBelowCell[c] + (y > thresholdInCell[c] ? 1 : 0);
    }

    @Override
    public float decode(int code) {
        return VALUES[code & 15];
    }

    /** The 16 values, ascending (a copy). */
    public float[] values() {
        return VALUES.clone();
    }

    /** The 15 decision thresholds, ascending (a copy). */
    public float[] thresholds() {
        return thresholds.clone();
    }

    /** Half the widest gap between consecutive values: the largest rounding error inside [-1, 1]. */
    public float maxRoundingError() {
        float widest = 0;
        for (int k = 0; k < 15; k++) {
            widest = Math.max(widest, VALUES[k + 1] - VALUES[k]);
        }
        return widest / 2;
    }
}
