package org.quant4j.core.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantizationException;

class DoubleQuantTest {

    @Test
    void byteLengthIsMeanPlusBlockAbsmaxPlusOneBytePerScale() {
        assertThat(DoubleQuant.byteLength(1)).isEqualTo(4 + 4 + 1);
        assertThat(DoubleQuant.byteLength(256)).isEqualTo(4 + 4 + 256);
        assertThat(DoubleQuant.byteLength(257)).isEqualTo(4 + 8 + 257);
        assertThat(DoubleQuant.byteLength(1024)).isEqualTo(4 + 16 + 1024);
        assertThat(NumberEncodings.byteLength(NumberEncoding.DQ8, 0, 1000)).isEqualTo(4 + 16 + 1000);
    }

    @Test
    void layoutIsMeanThenBlockAbsmaxThenCodes() {
        float[] scales = new float[300];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = 1 + i % 7;
        }
        scales[10] = 20f;
        byte[] bytes = DoubleQuant.encode(scales);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        double mean = 0;
        for (float s : scales) {
            mean += s;
        }
        mean /= scales.length;
        assertThat(b.getFloat(0)).isEqualTo((float) mean);
        float m = (float) mean;
        assertThat(b.getFloat(4)).isEqualTo(20f - m);                 // block 0 holds the outlier
        assertThat(b.getFloat(8)).isEqualTo(Math.max(7f - m, m - 1f)); // block 1: 44 ordinary scales
        assertThat(bytes[12 + 10] & 0xFF).isEqualTo(255);             // the outlier is +1 · absmax
    }

    @Property(tries = 200)
    void decodedScalesAreWithinTheMapResolution(@ForAll @IntRange(min = 1, max = 1200) int count, @ForAll long seed) {
        Random r = new Random(seed);
        float[] scales = new float[count];
        double magnitude = Math.pow(10, r.nextInt(20) - 10);
        for (int i = 0; i < count; i++) {
            scales[i] = (float) (Math.abs(r.nextGaussian()) * magnitude);
            if (r.nextInt(50) == 0) {
                scales[i] = 0;
            }
        }
        byte[] bytes = DoubleQuant.encode(scales);
        float[] decoded = DoubleQuant.decode(count, bytes);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float mean = b.getFloat(0);
        for (int i = 0; i < count; i++) {
            float blockAbsmax = b.getFloat(4 + 4 * (i / DoubleQuant.BLOCK));
            assertThat(blockAbsmax).isEqualTo(maxDeviation(scales, mean, i / DoubleQuant.BLOCK));
            double bound = blockAbsmax * (double) DynamicMap.SIGNED.maxRoundingError()
                    + 4 * Math.ulp(Math.max(Math.abs(mean), blockAbsmax));
            assertThat(Math.abs((double) decoded[i] - scales[i])).as("scale %d", i).isLessThanOrEqualTo(bound);
        }
        assertThat(DoubleQuant.encode(scales)).isEqualTo(bytes);
    }

    private static float maxDeviation(float[] scales, float mean, int block) {
        float m = 0;
        for (int i = block * DoubleQuant.BLOCK; i < Math.min(scales.length, (block + 1) * DoubleQuant.BLOCK); i++) {
            m = Math.max(m, Math.abs(scales[i] - mean));
        }
        return m;
    }

    @Test
    void equalScalesDecodeExactly() {
        float[] scales = {0.37f, 0.37f, 0.37f};
        assertThat(DoubleQuant.decode(3, DoubleQuant.encode(scales))).containsExactly(scales);
        assertThat(DoubleQuant.decode(2, DoubleQuant.encode(new float[2]))).containsExactly(0f, 0f);
    }

    @Test
    void encodedArrayKeepsTheDecodedValuesThroughBytes() {
        float[] scales = {0.5f, 1.25f, 3f, 0f, 7.75f};
        EncodedArray a = EncodedArray.encode(NumberEncoding.DQ8, 0, scales);
        EncodedArray back = EncodedArray.fromBytes(NumberEncoding.DQ8, 0, scales.length, a.bytes());
        assertThat(back).isEqualTo(a);
        assertThat(back.values()).containsExactly(a.values());
        assertThat(a.values()).containsExactly(DoubleQuant.decode(scales.length, a.bytes()));
    }

    @Test
    void rejectsWhatIsNotAnAbsmaxScale() {
        assertThatThrownBy(() -> DoubleQuant.encode(new float[] {1f, -2f})).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("scale 1 is -2.0");
        assertThatThrownBy(() -> DoubleQuant.encode(new float[] {Float.NaN})).isInstanceOf(QuantizationException.class);
        assertThatThrownBy(() -> DoubleQuant.encode(new float[] {Float.POSITIVE_INFINITY}))
                .isInstanceOf(QuantizationException.class);
        assertThatThrownBy(() -> DoubleQuant.decode(5, new byte[9])).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("needs 13 bytes");
    }
}
