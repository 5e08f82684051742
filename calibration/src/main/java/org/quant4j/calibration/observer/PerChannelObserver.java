package org.quant4j.calibration.observer;

import java.util.Objects;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidTensorException;

/**
 * One independent {@link RangeObserver} per channel of an axis (PyTorch's {@code PerChannelMinMaxObserver},
 * {@code MovingAveragePerChannelMinMaxObserver}; TensorRT's per-channel calibration of {@code calibrate_weights}):
 * channel {@code c} sees exactly the values whose index on the axis is {@code c}, so each channel's range is
 * what the per-tensor observer of that channel alone gives. Works with every observer kind (min-max, moving
 * average, percentile, MSE).
 */
public final class PerChannelObserver {
    private final int axis;
    private final Supplier<? extends RangeObserver> factory;
    private RangeObserver[] channels;
    private float[] values;

    /**
     * @param axis    the channel axis (1 for NCHW activations and [batch, features] outputs, 0 for [out, in] weights)
     * @param factory makes the observer of each channel
     */
    public PerChannelObserver(int axis, Supplier<? extends RangeObserver> factory) {
        if (axis < 0) {
            throw new IllegalArgumentException("channel axis must be >= 0, got " + axis);
        }
        this.axis = axis;
        this.factory = Objects.requireNonNull(factory, "factory");
    }

    /**
     * Observes every channel of {@code x}.
     *
     * @throws InvalidTensorException if {@code x} has too few dimensions, a different channel count than before,
     *                                or a channel holds NaN or Inf (the message names the channel)
     */
    public void observe(INDArray x) {
        if (x.rank() <= axis) {
            throw new InvalidTensorException("per-channel observer on axis " + axis + " got a tensor of rank " + x.rank());
        }
        int count = (int) x.size(axis);
        if (channels == null) {
            channels = new RangeObserver[count];
            for (int c = 0; c < count; c++) {
                channels[c] = factory.get();
            }
        } else if (channels.length != count) {
            throw new InvalidTensorException("per-channel observer has " + channels.length + " channels, the tensor "
                    + count + " on axis " + axis);
        }
        int[] order = new int[x.rank()];
        order[0] = axis;
        for (int d = 0, k = 1; d < order.length; d++) {
            if (d != axis) {
                order[k++] = d;
            }
        }
        INDArray rows = x.permute(order).castTo(DataType.FLOAT).dup('c');
        int n = (int) rows.length();
        if (values == null || values.length < n) {
            values = new float[n];
        }
        rows.data().asNioFloat().get(values, 0, n);
        int length = n / count;
        for (int c = 0; c < count; c++) {
            try {
                channels[c].observe(values, c * length, (c + 1) * length);
            } catch (InvalidTensorException e) {
                throw new InvalidTensorException("channel " + c + ": " + e.getMessage(), e);
            }
        }
    }

    public int axis() {
        return axis;
    }

    /** Channels seen (0 before the first observation). */
    public int channels() {
        return channels == null ? 0 : channels.length;
    }

    /** The observer of channel {@code c}. */
    public RangeObserver channel(int c) {
        if (channels == null) {
            throw new IllegalStateException("the observer has seen no data yet");
        }
        return channels[c];
    }

    /** Every channel's range minimum. */
    public float[] mins() {
        float[] m = new float[channels()];
        for (int c = 0; c < m.length; c++) {
            m[c] = channels[c].min();
        }
        return m;
    }

    /** Every channel's range maximum. */
    public float[] maxs() {
        float[] m = new float[channels()];
        for (int c = 0; c < m.length; c++) {
            m[c] = channels[c].max();
        }
        return m;
    }
}
