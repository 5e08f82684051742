package org.quant4j.ptq.pipeline;

import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.QuantSpec;

/**
 * What to do with a layer whose row width a spec's group size does not divide (e.g. group 128 on the 784 inputs of
 * an MNIST layer). llama.cpp meets the same problem with tensors whose rows are not a multiple of a block and falls
 * back to another type for them; here the format stays and only the grouping changes.
 */
public enum GroupFallback {
    /** Refuse: an {@link InvalidSpecException} naming the layer, its width and the group size. The default. */
    REFUSE,
    /** The largest group size below the requested one that divides the width (784 with group 128 → 112). */
    LARGEST_DIVISOR,
    /** One scale per output channel (the whole row is one group). */
    PER_CHANNEL;

    /**
     * The spec to use for {@code layer}, whose rows have {@code cols} columns: {@code spec} itself when it has no
     * groups or its group size divides {@code cols}.
     *
     * @throws InvalidSpecException with {@link #REFUSE} when the group size does not divide {@code cols}
     */
    public QuantSpec fit(String layer, QuantSpec spec, long cols) {
        Granularity g = spec.granularity();
        if (g.kind() != Granularity.Kind.GROUP || cols % g.groupSize() == 0) {
            return spec;
        }
        return switch (this) {
            case REFUSE -> throw new InvalidSpecException("layer '" + layer + "': group size " + g.groupSize()
                    + " does not divide its " + cols + " input columns; choose a group size that divides " + cols
                    + " or a group fallback policy (largest-divisor: group " + largestDivisor(g.groupSize(), cols)
                    + " here; channel: one group per row)");
            case LARGEST_DIVISOR -> spec.toBuilder().groupSize(largestDivisor(g.groupSize(), cols)).build();
            case PER_CHANNEL -> spec.toBuilder().perChannel().build();
        };
    }

    /** The largest {@code d <= groupSize} that divides {@code cols}. */
    private static int largestDivisor(int groupSize, long cols) {
        int size = (int) Math.min(groupSize, cols);
        while (cols % size != 0) {
            size--;
        }
        return size;
    }
}
