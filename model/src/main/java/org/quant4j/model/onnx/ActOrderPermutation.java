package org.quant4j.model.onnx;

import java.util.Comparator;
import java.util.stream.IntStream;
import org.quant4j.core.BitPacker;
import org.quant4j.core.QuantizedTensor;

/**
 * GPTQ act-order groups made consecutive by reordering the input features: with {@code order} the columns sorted by
 * their group ({@link QuantizedTensor#groupIndex()}, ties by column), column {@code j} of the reordered weight is
 * column {@code order[j]} of the stored one and belongs to group {@code j / g}, so the same codes, scales and zero
 * points form an ordinary group-wise tensor without a group index, and {@code x · Wᵀ = x[order] · W[:, order]ᵀ}.
 * The codes are the stored ones, moved; nothing is re-quantized.
 *
 * @param tensor the reordered tensor (no group index)
 * @param order  input feature {@code order[j]} goes to position {@code j}
 */
public record ActOrderPermutation(QuantizedTensor tensor, int[] order) {
    /** @throws IllegalArgumentException if {@code q} has no group index */
    public static ActOrderPermutation of(QuantizedTensor q) {
        if (!q.hasGroupIndex()) {
            throw new IllegalArgumentException("the tensor has no group index to reorder by");
        }
        int[] group = q.groupIndex();
        int rows = Math.toIntExact(q.rows());
        int cols = Math.toIntExact(q.cols());
        int[] order = IntStream.range(0, cols).boxed()
                .sorted(Comparator.<Integer>comparingInt(c -> group[c]).thenComparingInt(c -> c))
                .mapToInt(Integer::intValue).toArray();
        int bits = q.spec().bits();
        byte[] codes = new byte[rows * cols];
        BitPacker.unpack(q.codes(), codes.length, bits, codes);
        byte[] moved = new byte[codes.length];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                moved[r * cols + j] = codes[r * cols + order[j]];
            }
        }
        return new ActOrderPermutation(new QuantizedTensor(q.spec(), q.shape(), BitPacker.pack(moved, moved.length, bits),
                q.scales(), q.zeros(), q.globalScale()), order);
    }
}
