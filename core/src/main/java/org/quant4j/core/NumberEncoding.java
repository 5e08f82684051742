package org.quant4j.core;

/**
 * How the scales or zero points of a quantized tensor are stored. The in-memory values are always
 * exactly the stored ones: a scale is rounded to its encoding before any element is quantized with it.
 */
public enum NumberEncoding {
    /** IEEE binary32, 4 bytes. */
    FP32,
    /** IEEE binary16, 2 bytes, round-to-nearest-even. */
    FP16,
    /** bfloat16, 2 bytes, round-to-nearest-even. */
    BF16,
    /** OCP MX E8M0: an unbiased power of two 2^(e-127), 1 byte (MXFP4 block scales). */
    E8M0,
    /** OCP FP8 E4M3, 1 byte (NVFP4 block scales, with an FP32 per-tensor scale). */
    E4M3,
    /** Unsigned integer of the spec's bit width, densely packed (integer zero points, as GPTQ stores them). */
    UINT,
    /**
     * bitsandbytes double quantization of the NF4 absmax scales (QLoRA sec. 3, "Double Quantization"):
     * the mean is subtracted, then blocks of 256 are quantized to the 8-bit signed dynamic map with an
     * FP32 absmax per block. Layout: FP32 mean, then per block an FP32 absmax, then one byte per scale.
     */
    DQ8;

    /** Bytes one value takes, or -1 where the layout is not per value (UINT, DQ8). */
    public int bytesPerValue() {
        return switch (this) {
            case FP32 -> 4;
            case FP16, BF16 -> 2;
            case E8M0, E4M3 -> 1;
            case UINT, DQ8 -> -1;
        };
    }
}
