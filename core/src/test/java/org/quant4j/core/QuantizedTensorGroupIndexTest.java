package org.quant4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** A group index (GPTQ act-order's g_idx) decides which scale each column uses. */
class QuantizedTensorGroupIndexTest {
    private static final int ROWS = 3;
    private static final int COLS = 8;
    private static final int G = 4;

    private static final QuantSpec ASYM = QuantSpec.builder().bits(4).asymmetric().groupSize(G)
            .scaleEncoding(NumberEncoding.FP32).build();

    @Test
    void dequantizeUsesTheGroupOfEachColumn() {
        Random random = new Random(1);
        byte[] codes = new byte[ROWS * COLS];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(16);
        }
        float[] scales = {0.5f, 2f, 0.25f, 4f, 1f, 8f};
        float[] zeros = {1, 2, 3, 4, 5, 6};
        int[] groupIndex = {1, 0, 0, 1, 1, 0, 1, 0};
        QuantizedTensor t = new QuantizedTensor(ASYM, new long[] {ROWS, COLS}, BitPacker.pack(codes, codes.length, 4),
                EncodedArray.encode(NumberEncoding.FP32, 4, scales), EncodedArray.encode(NumberEncoding.UINT, 4, zeros),
                1f, groupIndex);

        float[] values = t.dequantizeToArray();
        for (int r = 0; r < ROWS; r++) {
            for (int c = 0; c < COLS; c++) {
                int b = r * (COLS / G) + groupIndex[c];
                assertThat(t.blockIndex(r, c)).isEqualTo(b);
                assertThat(values[r * COLS + c]).isEqualTo((codes[r * COLS + c] - zeros[b]) * scales[b]);
            }
        }
        assertThat(t.groupIndex()).containsExactly(groupIndex);
        assertThat(t.storageBytes()).isEqualTo(ROWS * COLS / 2 + 6 * 4 + 3 + 4 * COLS);
    }

    @Test
    void theGroupIndexIsPartOfEquality() {
        QuantizedTensor plain = tensor(null);
        QuantizedTensor consecutive = tensor(new int[] {0, 0, 0, 0, 1, 1, 1, 1});
        QuantizedTensor shuffled = tensor(new int[] {1, 0, 0, 1, 1, 0, 1, 0});
        assertThat(plain.dequantizeToArray()).containsExactly(consecutive.dequantizeToArray());
        assertThat(plain).isNotEqualTo(shuffled);
        assertThat(shuffled).isEqualTo(tensor(new int[] {1, 0, 0, 1, 1, 0, 1, 0}));
        assertThat(shuffled.hashCode()).isEqualTo(tensor(new int[] {1, 0, 0, 1, 1, 0, 1, 0}).hashCode());
    }

    @Test
    void rejectsInconsistentGroupIndexes() {
        assertThatThrownBy(() -> tensor(new int[] {0, 0, 0, 1, 1, 1, 1})).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("one per column");
        assertThatThrownBy(() -> tensor(new int[] {0, 0, 0, 0, 0, 1, 1, 1})).hasMessageContaining("group 0 has 5 columns");
        assertThatThrownBy(() -> tensor(new int[] {0, 0, 0, 0, 1, 1, 1, 2})).hasMessageContaining("outside 0..1");
        QuantSpec perChannel = QuantSpec.integer(4, true, Granularity.perChannel());
        assertThatThrownBy(() -> new QuantizedTensor(perChannel, new long[] {ROWS, COLS}, new byte[ROWS * COLS / 2],
                EncodedArray.encode(NumberEncoding.FP32, 4, new float[ROWS]), null, 1f, new int[COLS]))
                .hasMessageContaining("only defined for INT tensors with groups");
    }

    private static QuantizedTensor tensor(int[] groupIndex) {
        byte[] codes = new byte[ROWS * COLS];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) (i % 16);
        }
        return new QuantizedTensor(ASYM, new long[] {ROWS, COLS}, BitPacker.pack(codes, codes.length, 4),
                EncodedArray.encode(NumberEncoding.FP32, 4, new float[] {1, 2, 3, 4, 5, 6}),
                EncodedArray.encode(NumberEncoding.UINT, 4, new float[] {0, 1, 2, 3, 4, 5}), 1f, groupIndex);
    }
}
