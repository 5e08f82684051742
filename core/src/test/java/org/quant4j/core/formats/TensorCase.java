package org.quant4j.core.formats;

import java.util.Arrays;
import java.util.Random;
import org.quant4j.core.Granularity;

/**
 * A random row-major tensor for round-trip properties: shape, granularity and values mixing ordinary
 * magnitudes with the awkward ones (±0, float subnormals, ±Float.MAX_VALUE, all-equal rows, all-zero
 * rows, one huge outlier).
 */
record TensorCase(long[] shape, Granularity granularity, float[] data, String style) {
    private static final int[] GROUPS = {1, 2, 3, 4, 7, 16, 32, 64};
    private static final String[] STYLES = {"gaussian", "wide", "subnormal", "huge", "equalRows", "zeroRows", "outlier"};

    /** A case of random shape and granularity. */
    static TensorCase random(Random r) {
        return random(r, pickGranularity(r));
    }

    /** A case whose row width suits {@code granularity}. */
    static TensorCase random(Random r, Granularity granularity) {
        int rows = 1 + r.nextInt(6);
        int cols = granularity.kind() == Granularity.Kind.GROUP
                ? granularity.groupSize() * (1 + r.nextInt(Math.max(1, 96 / granularity.groupSize())))
                : 1 + r.nextInt(80);
        long[] shape = rows == 1 && r.nextBoolean() ? new long[] {cols}
                : cols % 2 == 0 && r.nextInt(4) == 0 ? new long[] {rows, 2, cols / 2}
                : new long[] {rows, cols};
        String style = STYLES[r.nextInt(STYLES.length)];
        return new TensorCase(shape, granularity, values(r, rows, cols, style), style);
    }

    static Granularity pickGranularity(Random r) {
        return switch (r.nextInt(4)) {
            case 0 -> Granularity.perTensor();
            case 1 -> Granularity.perChannel();
            default -> Granularity.perGroup(GROUPS[r.nextInt(GROUPS.length)]);
        };
    }

    private static float[] values(Random r, int rows, int cols, String style) {
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (style) {
                case "gaussian" -> (float) r.nextGaussian();
                case "wide" -> clamp(r.nextGaussian() * Math.pow(10, r.nextInt(60) - 30));
                case "subnormal" -> Float.intBitsToFloat(r.nextInt(0x00800000) | (r.nextBoolean() ? 0x80000000 : 0));
                case "huge" -> clamp(r.nextGaussian() * 1e38);
                default -> (float) r.nextGaussian() * 0.02f;
            };
        }
        switch (style) {
            case "equalRows" -> {
                for (int row = 0; row < rows; row++) {
                    Arrays.fill(x, row * cols, (row + 1) * cols, (float) r.nextGaussian());
                }
            }
            case "zeroRows" -> Arrays.fill(x, 0, cols, r.nextBoolean() ? 0f : -0f);
            case "outlier" -> x[r.nextInt(x.length)] = r.nextBoolean() ? Float.MAX_VALUE : -Float.MAX_VALUE;
            default -> { }
        }
        float[] specials = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-40f, -3e-39f, Float.MIN_NORMAL};
        for (int k = r.nextInt(3); k > 0; k--) {
            x[r.nextInt(x.length)] = specials[r.nextInt(specials.length)];
        }
        return x;
    }

    private static float clamp(double v) {
        return (float) Math.max(-Float.MAX_VALUE, Math.min(Float.MAX_VALUE, v));
    }

    int size() {
        return data.length;
    }

    /** Elements per block. */
    int blockLength() {
        long rows = shape.length <= 1 ? 1 : shape[0];
        return Math.toIntExact(granularity.blockLength(rows, data.length / rows));
    }

    @Override
    public String toString() {
        return "TensorCase" + Arrays.toString(shape) + " " + granularity + " " + style;
    }
}
