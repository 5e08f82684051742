package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;

import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.QuantizedTensor;

/** Checks every codec test makes on a quantized tensor. */
final class CodecChecks {
    private CodecChecks() {}

    /** The codes, unpacked with {@link BitPacker} (so the packing layout is checked too). */
    static byte[] codes(QuantizedTensor t) {
        int n = Math.toIntExact(t.size());
        byte[] codes = new byte[n];
        BitPacker.unpack(t.codes(), n, t.spec().bits(), codes);
        return codes;
    }

    /**
     * What a file keeps — code bytes, scale bytes, the global scale — rebuilds a tensor that
     * dequantizes to the same bits, and dequantizing twice gives the same bits.
     */
    static float[] assertSurvivesStorage(QuantizedTensor t) {
        EncodedArray s = t.scales();
        EncodedArray scalesBack = EncodedArray.fromBytes(s.encoding(), s.bits(), s.count(), s.bytes());
        QuantizedTensor back = new QuantizedTensor(t.spec(), t.shape(), t.codes().clone(), scalesBack, null,
                t.globalScale());
        float[] out = t.dequantizeToArray();
        assertThat(back).isEqualTo(t);
        assertThat(bits(back.dequantizeToArray())).containsExactly(bits(out));
        assertThat(bits(t.dequantizeToArray())).containsExactly(bits(out));
        return out;
    }

    static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }

    /** True bits per weight computed from the parts: code bytes, scale bytes, 4 for a global scale. */
    static double expectedBitsPerWeight(long n, int codeBits, long scaleBytes, boolean globalScale) {
        return ((n * codeBits + 7) / 8 + scaleBytes + (globalScale ? 4 : 0)) * 8.0 / n;
    }
}
