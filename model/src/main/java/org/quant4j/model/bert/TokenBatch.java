package org.quant4j.model.bert;

import java.util.Arrays;

/**
 * A rectangular batch of tokenized sequences, the three inputs of a BERT encoder, each row-major
 * {@code [batchSize, sequenceLength]}: token ids, attention mask (1 = real token, 0 = padding) and
 * token-type (segment) ids. Immutable: the arrays are copied in and out.
 */
public final class TokenBatch {
    private final int batchSize;
    private final int sequenceLength;
    private final int[] inputIds;
    private final int[] attentionMask;
    private final int[] tokenTypeIds;

    /**
     * @throws ModelInputException if an array does not hold {@code batchSize * sequenceLength} values or
     *                             the mask holds a value other than 0 and 1
     */
    public TokenBatch(int batchSize, int sequenceLength, int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        if (batchSize < 1 || sequenceLength < 1) {
            throw new ModelInputException("a token batch needs at least one sequence of one token, got "
                    + batchSize + " x " + sequenceLength);
        }
        long n = (long) batchSize * sequenceLength;
        check("input_ids", inputIds, n);
        check("attention_mask", attentionMask, n);
        check("token_type_ids", tokenTypeIds, n);
        for (int i = 0; i < attentionMask.length; i++) {
            if (attentionMask[i] != 0 && attentionMask[i] != 1) {
                throw new ModelInputException("attention_mask[" + i / sequenceLength + ", " + i % sequenceLength
                        + "] is " + attentionMask[i] + "; the mask holds only 0 (padding) and 1 (token)");
            }
        }
        this.batchSize = batchSize;
        this.sequenceLength = sequenceLength;
        this.inputIds = inputIds.clone();
        this.attentionMask = attentionMask.clone();
        this.tokenTypeIds = tokenTypeIds.clone();
    }

    private static void check(String name, int[] values, long n) {
        if (values == null || values.length != n) {
            throw new ModelInputException(name + " holds " + (values == null ? "no array" : values.length + " values")
                    + ", the batch shape needs " + n);
        }
    }

    public int batchSize() {
        return batchSize;
    }

    public int sequenceLength() {
        return sequenceLength;
    }

    /** Token ids, row-major [batch, seq]. */
    public int[] inputIds() {
        return inputIds.clone();
    }

    /** Attention mask, row-major [batch, seq]. */
    public int[] attentionMask() {
        return attentionMask.clone();
    }

    /** Token-type ids, row-major [batch, seq]. */
    public int[] tokenTypeIds() {
        return tokenTypeIds.clone();
    }

    /** Number of tokens under the mask in sequence {@code row}. */
    public int length(int row) {
        int n = 0;
        for (int t = 0; t < sequenceLength; t++) {
            n += attentionMask[row * sequenceLength + t];
        }
        return n;
    }

    /** The ids of sequence {@code row} under the mask, in order. */
    public int[] ids(int row) {
        int[] ids = new int[length(row)];
        int k = 0;
        for (int t = 0; t < sequenceLength; t++) {
            if (attentionMask[row * sequenceLength + t] == 1) {
                ids[k++] = inputIds[row * sequenceLength + t];
            }
        }
        return ids;
    }

    /** Flat indices (row * seq + position) of the tokens under the mask, ascending. */
    public int[] maskedPositions() {
        int count = 0;
        for (int m : attentionMask) {
            count += m;
        }
        int[] positions = new int[count];
        int k = 0;
        for (int i = 0; i < attentionMask.length; i++) {
            if (attentionMask[i] == 1) {
                positions[k++] = i;
            }
        }
        return positions;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenBatch b && b.batchSize == batchSize && b.sequenceLength == sequenceLength
                && Arrays.equals(b.inputIds, inputIds) && Arrays.equals(b.attentionMask, attentionMask)
                && Arrays.equals(b.tokenTypeIds, tokenTypeIds);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(inputIds) + Arrays.hashCode(attentionMask);
    }

    @Override
    public String toString() {
        return "TokenBatch[" + batchSize + " x " + sequenceLength + "]";
    }
}
