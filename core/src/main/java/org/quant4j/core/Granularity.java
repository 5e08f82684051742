package org.quant4j.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Which elements share one scale (and zero point). Tensors are seen as a row-major matrix
 * {@code rows × cols} with one row per output channel ({@code [out, in]}, PyTorch's layout; a conv
 * weight {@code [out, in, kh, kw]} is {@code out × (in·kh·kw)}); a group is {@code g} consecutive
 * input columns of one row.
 *
 * <p>JSON form: {@code "tensor"}, {@code "channel"}, {@code "group:128"}.
 */
public final class Granularity implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    public enum Kind { TENSOR, CHANNEL, GROUP }

    private static final Granularity TENSOR = new Granularity(Kind.TENSOR, 0);
    private static final Granularity CHANNEL = new Granularity(Kind.CHANNEL, 0);

    private final Kind kind;
    private final int groupSize;

    private Granularity(Kind kind, int groupSize) {
        this.kind = kind;
        this.groupSize = groupSize;
    }

    public static Granularity perTensor() {
        return TENSOR;
    }

    public static Granularity perChannel() {
        return CHANNEL;
    }

    public static Granularity perGroup(int groupSize) {
        if (groupSize < 1) {
            throw new InvalidSpecException("group size must be >= 1, got " + groupSize);
        }
        return new Granularity(Kind.GROUP, groupSize);
    }

    public Kind kind() {
        return kind;
    }

    /** The group size; 0 unless {@link Kind#GROUP}. */
    public int groupSize() {
        return groupSize;
    }

    /** Elements per block along a row of width {@code cols}: cols for per-channel, g for groups, rows·cols per tensor. */
    public long blockLength(long rows, long cols) {
        return switch (kind) {
            case TENSOR -> rows * cols;
            case CHANNEL -> cols;
            case GROUP -> groupSize;
        };
    }

    /** Number of blocks (scales) of a {@code rows × cols} matrix. */
    public long blockCount(long rows, long cols) {
        return switch (kind) {
            case TENSOR -> 1;
            case CHANNEL -> rows;
            case GROUP -> rows * (cols / groupSize);
        };
    }

    @JsonValue
    @Override
    public String toString() {
        return switch (kind) {
            case TENSOR -> "tensor";
            case CHANNEL -> "channel";
            case GROUP -> "group:" + groupSize;
        };
    }

    /** Parses {@code tensor}, {@code channel}, {@code group:G} (or {@code gG}, {@code G}). */
    @JsonCreator
    public static Granularity parse(String text) {
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("tensor") || t.equals("per-tensor")) {
            return TENSOR;
        }
        if (t.equals("channel") || t.equals("per-channel")) {
            return CHANNEL;
        }
        String digits = t.startsWith("group:") ? t.substring(6) : t.startsWith("g") ? t.substring(1) : t;
        try {
            return perGroup(Integer.parseInt(digits));
        } catch (NumberFormatException e) {
            throw new InvalidSpecException("unknown granularity '" + text
                    + "': use tensor, channel or group:G (e.g. group:128)");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Granularity g && g.kind == kind && g.groupSize == groupSize;
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + groupSize;
    }
}
