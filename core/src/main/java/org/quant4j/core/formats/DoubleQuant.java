package org.quant4j.core.formats;

/**
 * bitsandbytes double quantization of NF4 absmax scales (QLoRA, Dettmers et al. 2023, sec. 3):
 * see {@link org.quant4j.core.NumberEncoding#DQ8} for the layout.
 */
public final class DoubleQuant {
    private DoubleQuant() {}

    public static long byteLength(int count) {
        throw new UnsupportedOperationException("TODO: implement");
    }

    public static byte[] encode(float[] scales) {
        throw new UnsupportedOperationException("TODO: implement");
    }

    public static float[] decode(int count, byte[] bytes) {
        throw new UnsupportedOperationException("TODO: implement");
    }
}
