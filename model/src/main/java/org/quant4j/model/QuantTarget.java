package org.quant4j.model;

import java.util.Arrays;

/**
 * One linear weight offered to a quantizer.
 *
 * @param name       unique name in the model and the model file (e.g. {@code 0/W}, {@code encoder.layer.0.attention.self.query})
 * @param type       what it is, for reports (e.g. {@code DenseLayer}, {@code Linear attention.self.query})
 * @param shape      its {@code [out, in...]} shape
 * @param inputWidth columns of its calibration rows ({@code in}, or {@code in·kh·kw} for a convolution)
 * @param capturable whether calibration can capture its inputs (an LSTM's weights cannot)
 */
public record QuantTarget(String name, String type, long[] shape, int inputWidth, boolean capturable) {
    public QuantTarget {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Columns of the {@code [out, columns]} matrix view of the weight. */
    public long columns() {
        return Arrays.stream(shape).skip(1).reduce(1, Math::multiplyExact);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantTarget t && t.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name;
    }
}
