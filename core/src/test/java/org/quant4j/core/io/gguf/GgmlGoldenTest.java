package org.quant4j.core.io.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bit-exactness against llama.cpp: the golden vectors of {@code core/src/test/resources/ggml-golden} (made once by
 * llama.cpp's own {@code ggml-quants.c}, {@code scripts/golden/make-ggml-golden.sh}). Each file's bytes must equal
 * ours for the same inputs, and our dequantization of them must hash as ggml's did.
 */
class GgmlGoldenTest {
    private static final String DIR = "/ggml-golden/";
    private static final int ROWS = 8;
    private static final int N_PER_ROW = 512;

    record Golden(String file, GgmlType type, int bytes, long dequantizedHash) {
        @Override
        public String toString() { return file; }
    }

    static List<Golden> goldens() {
        List<Golden> out = new ArrayList<>();
        for (String line : new String(resource("MANIFEST.txt"), StandardCharsets.US_ASCII).split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.trim().split(" ");
            out.add(new Golden(f[0], GgmlType.parse(f[1]), Integer.parseInt(f[2]), Long.parseUnsignedLong(f[3], 16)));
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldens")
    void quantizesAsLlamaCpp(Golden g) {
        float[] x = floats("inputs.f32");
        byte[] expected = resource(g.file());
        assertThat(expected).hasSize(g.bytes());
        String mode = g.file().split("\\.")[1];
        byte[] actual = switch (mode) {
            case "ref" -> GgmlQuants.quantize(g.type(), x, "golden");
            case "noimat" -> GgmlQuants.quantize(g.type(), x, N_PER_ROW, null, "golden");
            default -> GgmlQuants.quantize(g.type(), x, N_PER_ROW, importance(mode.charAt(4) - '0'), "golden");
        };
        assertThat(firstDifferentBlock(g.type(), actual, expected)).as(g.file()).isEqualTo(-1);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldens")
    void dequantizesAsLlamaCpp(Golden g) {
        float[] y = new float[ROWS * N_PER_ROW];
        GgmlQuants.dequantize(g.type(), resource(g.file()), 0, y);
        assertThat(Long.toHexString(fnv1a(y))).as(g.file()).isEqualTo(Long.toHexString(g.dequantizedHash()));
    }

    /** Without an importance, {@code quantize_<type>} is the reference row for every type but IQ4_NL. */
    @Test
    void withoutImportanceTheRowsAreTheReferenceButForIq4Nl() {
        float[] x = floats("inputs.f32");
        Set<GgmlType> covered = EnumSet.noneOf(GgmlType.class);
        for (Golden g : goldens()) {
            if (g.file().contains(".ref.") && g.type() != GgmlType.IQ4_NL) {
                assertThat(GgmlQuants.quantize(g.type(), x, N_PER_ROW, null, "golden")).as(g.file())
                        .isEqualTo(resource(g.file()));
                covered.add(g.type());
            }
        }
        assertThat(covered).hasSize(11);
        assertThat(goldens().stream().map(Golden::file)).contains("iq4_nl.noimat.bin");
    }

    private static int firstDifferentBlock(GgmlType type, byte[] a, byte[] b) {
        if (a.length != b.length) return Integer.MAX_VALUE;
        for (int i = 0; i < a.length; i++) {
            if (a[i] != b[i]) return i / type.bytesPerBlock();
        }
        return -1;
    }

    private static float[] importance(int i) {
        float[] all = floats("imatrix.f32");
        float[] out = new float[N_PER_ROW];
        System.arraycopy(all, i * N_PER_ROW, out, 0, N_PER_ROW);
        return out;
    }

    static float[] floats(String name) {
        ByteBuffer b = ByteBuffer.wrap(resource(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }

    static byte[] resource(String name) {
        try (InputStream in = GgmlGoldenTest.class.getResourceAsStream(DIR + name)) {
            assertThat(in).as(DIR + name).isNotNull();
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** FNV-1a 64 of the float32 bits, little endian (as the harness hashes ggml's dequantization). */
    private static long fnv1a(float[] y) {
        long h = 0xcbf29ce484222325L;
        for (float v : y) {
            int bits = Float.floatToRawIntBits(v);
            for (int k = 0; k < 4; k++) {
                h ^= (bits >>> (8 * k)) & 0xFF;
                h *= 0x100000001b3L;
            }
        }
        return h;
    }

}
