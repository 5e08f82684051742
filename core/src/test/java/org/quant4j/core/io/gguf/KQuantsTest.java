package org.quant4j.core.io.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.Half;
import org.quant4j.core.InvalidTensorException;

/** The K-quants and IQ4 block layouts by hand, round-trip error, GGUF read-back and bad input. */
class KQuantsTest {
    private static final List<GgmlType> NEW_TYPES = List.of(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K,
            GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ4_NL, GgmlType.IQ4_XS);

    @TempDir
    Path dir;

    private static float[] dequantize(GgmlType type, byte[] block) {
        assertThat(block).hasSize(type.bytesPerBlock());
        float[] y = new float[type.blockSize()];
        GgmlQuants.dequantize(type, block, 0, y);
        return y;
    }

    private static void f16(byte[] b, int o, float v) {
        GgmlQuants.putU16(b, o, Half.fromFloat(v));
    }

    @Test
    void q2_KLayoutByHand() {
        byte[] b = new byte[84];
        f16(b, 80, 1f);     // d
        f16(b, 82, 0.5f);   // dmin
        b[0] = 0x32;        // sub-block 0: scale 2 (low nibble), min 3 (high nibble)
        b[1] = 0x01;        // sub-block 1: scale 1, min 0
        b[16] = 0b11;       // qs[0] bits 0-1: element 0, code 3
        b[16 + 16] = 0b10;  // qs[16] bits 0-1: element 16, code 2
        b[16 + 2] = (byte) 0b0100; // qs[2] bits 2-3: element 34 (sub-block 2: scale 0, min 0), code 1
        float[] y = dequantize(GgmlType.Q2_K, b);
        assertThat(new float[] {y[0], y[1], y[16], y[17], y[34]}).containsExactly(4.5f, -1.5f, 2f, 0f, 0f);
    }

    @Test
    void q3_KLayoutByHand() {
        byte[] b = new byte[110];
        f16(b, 108, 1f);
        for (int k = 104; k < 108; k++) b[k] = (byte) 0xAA; // high 2 bits of all sixteen 6-bit scales: 2 (32+)
        b[96] = 0x02;       // low nibble of scale 0: 34 - 32 = 2; every other scale 32 - 32 = 0
        b[32] = 0b0111;     // qs[0]: element 0 code 3, element 32 code 1 (bits 2-3)
        b[32 + 1] = 0b01;   // element 1 code 1
        b[0] = 0b01;        // hmask[0] bit 0: element 0 has the high bit (q - 0), element 1 not (q - 4)
        float[] y = dequantize(GgmlType.Q3_K, b);
        assertThat(new float[] {y[0], y[1], y[2], y[16]}).containsExactly(6f, -6f, -8f, -0f);
    }

    /** Q4_K and Q5_K share their scales: sub-block 0 scale 2 min 4, sub-block 5 scale 33 min 18 (6-bit split). */
    private static byte[] scaledBlock(int bytes) {
        byte[] b = new byte[bytes];
        f16(b, 0, 1f);
        f16(b, 2, 0.5f);
        b[4] = 2;                 // scales[0]: scale 0
        b[4 + 4] = 4;             // scales[4]: min 0
        b[4 + 9] = 0x21;          // scales[9]: low nibbles of scale 5 (33 & 15 = 1) and min 5 (18 & 15 = 2)
        b[4 + 1] = (byte) 0x80;   // scales[1] bits 6-7: high bits of scale 5 (33 >> 4 = 2)
        b[4 + 5] = 0x40;          // scales[5] bits 6-7: high bits of min 5 (18 >> 4 = 1)
        return b;
    }

    @Test
    void q4_KLayoutByHand() {
        byte[] b = scaledBlock(144);
        b[16] = 7;                    // qs[0] low nibble: element 0
        b[16 + 64] = 0x30;            // qs[64] high nibble: element 160 (sub-block 5)
        float[] y = dequantize(GgmlType.Q4_K, b);
        assertThat(new float[] {y[0], y[1], y[160], y[161], y[32]}).containsExactly(12f, -2f, 90f, -9f, 0f);
    }

    @Test
    void q5_KLayoutByHand() {
        byte[] b = scaledBlock(176);
        b[48] = 7;                    // qs[0] low nibble: element 0
        b[16] = 0b1;                  // qh[0] bit 0: element 0 + 16
        b[48 + 64] = 0x30;            // qs[64] high nibble: element 160
        b[16] |= 0b10_0000;           // qh[0] bit 5: element 160 + 16 (pairs of bits per 64 elements)
        float[] y = dequantize(GgmlType.Q5_K, b);
        assertThat(new float[] {y[0], y[1], y[160]}).containsExactly(44f, -2f, 90f + 33 * 16);
    }

    @Test
    void q6_KLayoutByHand() {
        byte[] b = new byte[210];
        f16(b, 208, 0.5f);
        b[192] = 3;                   // scales[0]
        b[193] = -2;                  // scales[1] (int8)
        b[0] = 5;                     // ql[0] low nibble: element 0
        b[128] = 0b10;                // qh[0] bits 0-1: element 0, q = 5 | 2 << 4 = 37, minus 32
        float[] y = dequantize(GgmlType.Q6_K, b);
        assertThat(new float[] {y[0], y[1], y[16]}).containsExactly(7.5f, -48f, 32f);
    }

    @Test
    void iq4_nlLayoutByHand() {
        byte[] b = new byte[18];
        f16(b, 0, 0.5f);
        b[2] = (byte) 0xF0;           // element 0: kvalues[0] = -127, element 16: kvalues[15] = 113
        b[3] = (byte) 0x98;           // element 1: kvalues[8] = 1, element 17: kvalues[9] = 13
        float[] y = dequantize(GgmlType.IQ4_NL, b);
        assertThat(new float[] {y[0], y[16], y[1], y[17], y[2]}).containsExactly(-63.5f, 56.5f, 0.5f, 6.5f, -63.5f);
    }

    @Test
    void iq4_xsLayoutByHand() {
        byte[] b = new byte[136];
        f16(b, 0, 1f);
        GgmlQuants.putU16(b, 2, 0xAAAA); // scales_h: high 2 bits 2 for all eight sub-blocks
        b[4] = 0x20;                      // scales_l[0]: sub-block 0 low nibble 0 (32 - 32 = 0), sub-block 1: 2
        b[8 + 16] = 9;                    // sub-block 1, element 32: kvalues[9] = 13
        float[] y = dequantize(GgmlType.IQ4_XS, b);
        assertThat(new float[] {y[32], y[0], y[48]}).containsExactly(26f, -0f, -254f); // 0·kvalues[0] = -0, as in ggml
    }

    @Test
    void zeroBlocksQuantizeToZeros() {
        for (GgmlType t : NEW_TYPES) {
            float[] x = new float[512];
            for (float[] imp : new float[][] {null, new float[512]}) {
                byte[] q = GgmlQuants.quantize(t, x, 512, imp, "zeros");
                float[] y = new float[512];
                GgmlQuants.dequantize(t, q, 0, y);
                for (float v : y) assertThat(v == 0f).as("%s", t).isTrue();
            }
        }
    }

    /**
     * RMS error over the RMS of Gaussian rows with 2 % outliers, from the reference rows and (in the importance-weighted
     * norm) from the weighted rows; the bounds are ~1.3× the worst of 200 seeds.
     */
    @Property(tries = 20)
    void roundTripErrorIsBoundedForEveryType(@ForAll long seed) {
        Random rnd = new Random(seed);
        float scale = (float) Math.pow(10, rnd.nextInt(5) - 3);
        float[] x = new float[512];
        float[] imp = new float[512];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * scale * (rnd.nextInt(50) == 0 ? 8 : 1));
            imp[i] = (float) -Math.log(1 - rnd.nextDouble());
        }
        double[] bound = {0.6, 0.36, 0.18, 0.09, 0.055, 0.21, 0.21};
        for (int k = 0; k < NEW_TYPES.size(); k++) {
            GgmlType t = NEW_TYPES.get(k);
            for (float[] w : new float[][] {null, imp}) {
                byte[] q = GgmlQuants.quantize(t, x, 512, w, "x");
                float[] y = new float[x.length];
                GgmlQuants.dequantize(t, q, 0, y);
                double err = 0;
                double sig = 0;
                for (int i = 0; i < x.length; i++) {
                    double c = w == null ? 1 : w[i];
                    err += c * (x[i] - y[i]) * (x[i] - y[i]);
                    sig += c * x[i] * x[i];
                }
                assertThat(Math.sqrt(err / sig)).as("%s %s", t, w == null ? "reference" : "weighted")
                        .isLessThan(bound[k]);
            }
        }
    }

    @Test
    void everyTypeIsWrittenToGgufAndReadBack() throws IOException {
        float[] x = GgmlGoldenTest.floats("inputs.f32");
        GgufWriter w = new GgufWriter();
        for (GgmlType t : NEW_TYPES) {
            w.addTensor("w." + t, new long[] {512, 8}, t, GgmlQuants.quantize(t, x, 512, null, "w"));
        }
        Path file = dir.resolve("k.gguf");
        w.write(file);
        GgufFile g = GgufReader.read(file);
        for (GgmlType t : NEW_TYPES) {
            assertThat(t.hasCodec()).isTrue();
            assertThat(g.tensor("w." + t).type()).isEqualTo(t);
            float[] expected = new float[x.length];
            GgmlQuants.dequantize(t, GgmlQuants.quantize(t, x, 512, null, "w"), 0, expected);
            assertThat(g.dequantize("w." + t)).as("%s", t).containsExactly(expected);
        }
    }

    @Test
    void refusesRowsThatAreNotWholeBlocksNamingTheTensor() {
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.Q4_K, new float[384], 384, null, "tensor 'blk.0.ffn'"))
                .isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("tensor 'blk.0.ffn'").hasMessageContaining("384").hasMessageContaining("256");
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.Q6_K, new float[100], "tensor 'b'"))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("tensor 'b'")
                .hasMessageContaining("Q6_K block of 256");
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.IQ4_NL, new float[96], 64, null, "tensor 'c'"))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("whole rows of 64");
    }

    @Test
    void refusesBadImportanceAndNonFiniteValues() {
        float[] x = new float[256];
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.Q3_K, x, 256, new float[128], "tensor 'q'"))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("tensor 'q'")
                .hasMessageContaining("128");
        float[] imp = new float[256];
        imp[7] = -1;
        assertThatThrownBy(() -> GgmlQuants.quantize(GgmlType.Q4_K, x, 256, imp, "tensor 'q'"))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("column 7");
        float[] bad = new float[512];
        bad[300] = Float.NaN;
        for (GgmlType t : NEW_TYPES) {
            assertThatThrownBy(() -> GgmlQuants.quantize(t, bad, "tensor 'n'"))
                    .isInstanceOf(InvalidTensorException.class).hasMessageContaining("tensor 'n'")
                    .hasMessageContaining("NaN");
            assertThatThrownBy(() -> GgmlQuants.quantize(t, bad, 512, new float[512], "tensor 'n'"))
                    .isInstanceOf(InvalidTensorException.class).hasMessageContaining("NaN");
        }
    }

    /** {@link Half#fromFloat} equals ggml's {@code ggml_compute_fp32_to_fp16} (ggml-impl.h) wherever ggml is finite. */
    @Property(tries = 2000)
    void halfRoundsAsGgml(@ForAll int bits) {
        float f = Float.intBitsToFloat(bits);
        if (Float.isNaN(f) || Math.abs(f) >= 65520f) return;
        assertThat(Half.fromFloat(f)).isEqualTo(ggmlFp32ToFp16(f));
        float g = Float.intBitsToFloat((bits & 0x8FFFFFFF) | 0x30000000); // around the fp16 range, ties included
        if (Math.abs(g) < 65520f) assertThat(Half.fromFloat(g)).as("%s", g).isEqualTo(ggmlFp32ToFp16(g));
    }

    private static int ggmlFp32ToFp16(float f) {
        float base = (Math.abs(f) * 0x1.0p+112f) * 0x1.0p-110f;
        int w = Float.floatToRawIntBits(f);
        int shl1W = w + w;
        int sign = w & 0x80000000;
        int bias = shl1W & 0xFF000000;
        if (Integer.compareUnsigned(bias, 0x71000000) < 0) bias = 0x71000000;
        base = Float.intBitsToFloat((bias >>> 1) + 0x07800000) + base;
        int b = Float.floatToRawIntBits(base);
        int nonsign = ((b >>> 13) & 0x00007C00) + (b & 0x00000FFF);
        return (sign >>> 16) | (Integer.compareUnsigned(shl1W, 0xFF000000) > 0 ? 0x7E00 : nonsign);
    }
}
