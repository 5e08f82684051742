package org.quant4j.model.bert;

/**
 * How a {@link WordPieceTokenizer} pads a batch: to a fixed length (sequences already longer are left
 * as they are, as Hugging Face tokenizers does) or to the batch's longest sequence; either way the
 * length is then rounded up to a multiple of {@code multipleOf} when it is positive.
 *
 * @param fixedLength the fixed length, or 0 for the batch's longest
 * @param multipleOf  0 for none
 */
public record Padding(int fixedLength, int multipleOf) {
    public Padding {
        if (fixedLength < 0 || multipleOf < 0) {
            throw new IllegalArgumentException("padding lengths must be >= 0, got " + fixedLength + ", " + multipleOf);
        }
    }

    /** Pads every sequence to {@code length} tokens. */
    public static Padding fixed(int length) {
        if (length < 1) {
            throw new IllegalArgumentException("a fixed padding length must be >= 1, got " + length);
        }
        return new Padding(length, 0);
    }

    /** Pads to the batch's longest sequence. */
    public static Padding batchLongest() {
        return new Padding(0, 0);
    }

    public boolean isBatchLongest() {
        return fixedLength == 0;
    }

    /** The padded length of a batch whose longest sequence has {@code longest} tokens. */
    public int lengthFor(int longest) {
        int n = Math.max(longest, fixedLength);
        return multipleOf > 0 ? (n + multipleOf - 1) / multipleOf * multipleOf : n;
    }
}
