package org.quant4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The CLAQ storage type: element-wise meaning, exact byte accounting, validation. */
class ClaqTensorTest {
    /** Rows 10 (not a multiple of 8: padded columns), widths 2, 3 and 8, two outliers in column 1. */
    private static ClaqTensor small() {
        int rows = 10;
        byte[] bits = {2, 3, 8};
        float[] centroids = new float[4 + 8 + 256];
        for (int i = 0; i < centroids.length; i++) {
            centroids[i] = Half.toFloat(Half.fromFloat(0.01f * (i - 100)));
        }
        byte[] codes = new byte[3 + 4 + 10];
        for (int j = 0, at = 0; j < 3; j++) {
            byte[] column = new byte[rows];
            for (int r = 0; r < rows; r++) {
                column[r] = (byte) ((r * 7 + j * 3) % (1 << bits[j]));
            }
            BitPacker.pack(column, 0, rows, bits[j], codes, at);
            at += (rows * bits[j] + 7) / 8;
        }
        return new ClaqTensor(new long[] {rows, 3}, bits, EncodedArray.encode(NumberEncoding.FP16, 16, centroids),
                codes, new int[] {0, 0, 2, 2}, new int[] {3, 9},
                EncodedArray.encode(NumberEncoding.FP16, 16, new float[] {7.5f, -3.25f}));
    }

    @Test
    void everyElementIsItsCentroidOrItsOutlier() {
        ClaqTensor t = small();
        float[] out = t.dequantizeToArray();
        int[] base = {0, 4, 12};
        for (int j = 0; j < 3; j++) {
            byte[] codes = t.columnCodes(j);
            float[] codebook = t.codebook(j);
            assertThat(codebook).hasSize(1 << t.columnBits(j));
            for (int r = 0; r < 10; r++) {
                int expectedCode = (r * 7 + j * 3) % (1 << t.columnBits(j));
                assertThat(codes[r] & 0xFF).isEqualTo(expectedCode);
                float expected = j == 1 && r == 3 ? 7.5f : j == 1 && r == 9 ? -3.25f
                        : t.codebooks().values()[base[j] + expectedCode];
                assertThat(out[r * 3 + j]).as("element (%d, %d)", r, j).isEqualTo(expected);
            }
        }
        assertThat(t.dequantize().shape()).containsExactly(10, 3);
    }

    @Test
    void storageIsCountedByteForByte() {
        ClaqTensor t = small();
        long codes = 3 + 4 + 10;         // ceil(10·2/8) + ceil(10·3/8) + 10·8/8
        long codebooks = 2 * (4 + 8 + 256);
        long widths = 3;
        long outliers = 4 * (3 + 1) + 2 * (2 + 2); // int32 column offsets, uint16 row + FP16 value each
        assertThat(t.storageBytes()).isEqualTo(codes + codebooks + widths + outliers);
        assertThat(t.bitsPerWeight()).isEqualTo((codes + codebooks + widths + outliers) * 8.0 / 30);
        assertThat(t.averageCodeBits()).isEqualTo(13.0 / 3);
        assertThat(t.outlierCount()).isEqualTo(2);
    }

    @Test
    void withoutOutliersNoOffsetsAreStored() {
        byte[] bits = {1, 1};
        ClaqTensor t = new ClaqTensor(new long[] {16, 2}, bits,
                EncodedArray.encode(NumberEncoding.FP16, 16, new float[] {-1, 1, -2, 2}), new byte[] {(byte) 0xF0, 0x0F, 0x01, 0},
                new int[] {0, 0, 0}, new int[0], EncodedArray.encode(NumberEncoding.FP16, 16, new float[0]));
        assertThat(t.storageBytes()).isEqualTo(4 + 8 + 2);
        float[] out = t.dequantizeToArray();
        assertThat(out[0]).isEqualTo(-1f);  // column 0, row 0: bit 0 of 0xF0
        assertThat(out[4 * 2]).isEqualTo(1f); // column 0, row 4: bit 4 of 0xF0
        assertThat(out[1]).isEqualTo(2f);   // column 1, row 0: bit 0 of 0x01
        assertThat(out[2 * 2 + 1]).isEqualTo(-2f);
    }

    @Test
    void largeTensorsDequantizeInParallelToTheSameValues() {
        SplittableRandom random = new SplittableRandom(5);
        int rows = 1000;
        int cols = 700;
        byte[] bits = new byte[cols];
        int centroidCount = 0;
        int codeBytes = 0;
        for (int j = 0; j < cols; j++) {
            bits[j] = (byte) (1 + random.nextInt(8));
            centroidCount += 1 << bits[j];
            codeBytes += (rows * bits[j] + 7) / 8;
        }
        float[] centroids = new float[centroidCount];
        for (int i = 0; i < centroidCount; i++) {
            centroids[i] = Half.toFloat(Half.fromFloat((float) random.nextGaussian()));
        }
        byte[] codes = new byte[codeBytes];
        random.nextBytes(codes);
        ClaqTensor t = new ClaqTensor(new long[] {rows, cols}, bits, EncodedArray.encode(NumberEncoding.FP16, 16, centroids),
                codes, new int[cols + 1], new int[0], EncodedArray.encode(NumberEncoding.FP16, 16, new float[0]));
        float[] out = t.dequantizeToArray();
        for (int j = 0; j < cols; j += 37) {
            byte[] column = t.columnCodes(j);
            float[] codebook = t.codebook(j);
            for (int r = 0; r < rows; r++) {
                assertThat(out[r * cols + j]).isEqualTo(codebook[column[r] & 0xFF]);
            }
        }
    }

    @Test
    void inconsistentPartsAreRejectedWithTheirName() {
        EncodedArray noOutliers = EncodedArray.encode(NumberEncoding.FP16, 16, new float[0]);
        EncodedArray fourCentroids = EncodedArray.encode(NumberEncoding.FP16, 16, new float[4]);
        assertThatThrownBy(() -> new ClaqTensor(new long[] {8, 1}, new byte[] {3}, fourCentroids, new byte[3],
                new int[2], new int[0], noOutliers)).isInstanceOf(QuantizationException.class).hasMessageContaining("8 FP16 centroids");
        assertThatThrownBy(() -> new ClaqTensor(new long[] {8, 1}, new byte[] {2}, fourCentroids, new byte[3],
                new int[2], new int[0], noOutliers)).hasMessageContaining("needs 2 code bytes");
        assertThatThrownBy(() -> new ClaqTensor(new long[] {8, 1}, new byte[] {9}, fourCentroids, new byte[2],
                new int[2], new int[0], noOutliers)).hasMessageContaining("code width 9");
        assertThatThrownBy(() -> new ClaqTensor(new long[] {8, 2}, new byte[] {2}, fourCentroids, new byte[2],
                new int[3], new int[0], noOutliers)).hasMessageContaining("1 column widths for 2 columns");
        EncodedArray twoValues = EncodedArray.encode(NumberEncoding.FP16, 16, new float[2]);
        assertThatThrownBy(() -> new ClaqTensor(new long[] {8, 1}, new byte[] {2}, fourCentroids, new byte[2],
                new int[] {0, 2}, new int[] {5, 5}, twoValues)).hasMessageContaining("strictly increasing");
        assertThatThrownBy(() -> new ClaqTensor(new long[] {8, 1}, new byte[] {2}, fourCentroids, new byte[2],
                new int[] {0, 2}, new int[] {5, 8}, twoValues)).hasMessageContaining("0..7");
        assertThatThrownBy(() -> new ClaqTensor(new long[] {8, 1}, new byte[] {2}, fourCentroids, new byte[2],
                new int[] {0, 1}, new int[] {5, 6}, twoValues)).hasMessageContaining("end at 1");
        assertThatThrownBy(() -> new ClaqTensor(new long[] {8, 1}, new byte[] {2}, fourCentroids, new byte[2],
                new int[] {0, 1}, new int[] {5}, twoValues)).hasMessageContaining("1 FP16 outlier values");
    }

    @Test
    void equalityIsByStoredContent() {
        assertThat(small()).isEqualTo(small()).hasSameHashCodeAs(small());
        assertThat(small().toString()).contains("[10, 3]").contains("2 outliers");
    }
}
