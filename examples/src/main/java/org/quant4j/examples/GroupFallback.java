package org.quant4j.examples;

import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;

/**
 * Fits a spec's group size to a weight whose row width it does not divide, the way llama.cpp falls back
 * for tensors whose rows are not a multiple of a block: here the same format with the largest group size
 * below the requested one that divides the width (e.g. NF4 block 64 on a 784-wide row becomes block 56).
 */
final class GroupFallback {
    private GroupFallback() {}

    /** The spec to use for rows of width {@code cols}: {@code spec} itself when its group divides {@code cols}. */
    static QuantSpec fit(QuantSpec spec, long cols) {
        Granularity g = spec.granularity();
        if (g.kind() != Granularity.Kind.GROUP || cols % g.groupSize() == 0) {
            return spec;
        }
        int size = g.groupSize();
        while (cols % size != 0) {
            size--;
        }
        return spec.toBuilder().groupSize(size).build();
    }
}
