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

    /** The codebook. */
    public static final Nf4Codebook NF4 = new Nf4Codebook();

    private final float[] thresholds = THRESHOLDS;

    private Nf4Codebook() {}

    /**
     * The code of the nearest codebook value (midpoints go to the lower code): the number of
     * thresholds {@code v} is strictly above, found with four comparisons (bitsandbytes' tree).
     */
    @Override
    public int encode(float v) {
        int c = v > thresholds[7] ? 8 : 0;
        c += v > thresholds[c + 3] ? 4 : 0;
        c += v > thresholds[c + 1] ? 2 : 0;
        c += v > thresholds[c] ? 1 : 0;
        return c;
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
