package org.quant4j.qat.samediff;

/**
 * Where the output channel of a SameDiff weight is, and how the weight maps to core's {@code [out, in...]}
 * layout (one row per output channel, the block order of per-channel scales).
 */
public enum SdWeightLayout {
    /** {@code [in, out]}: the right operand of {@code sd.mmul(x, w)} ({@code x} is {@code [batch, in]}). */
    IN_OUT(2, 1, new int[] {1, 0}),
    /** {@code [kH, kW, in, out]}: the weight format ND4J's {@code sd.cnn().conv2d} uses by default ({@code WeightsFormat.YXIO}). */
    CONV2D_YXIO(4, 3, new int[] {3, 2, 0, 1}),
    /** {@code [out, in, kH, kW]}: {@code Conv2DConfig.weightsFormat(WeightsFormat.OIYX)}, already core's layout. */
    CONV2D_OIYX(4, 0, new int[] {0, 1, 2, 3});

    private final int rank;
    private final int channelAxis;
    private final int[] toCore;

    SdWeightLayout(int rank, int channelAxis, int[] toCore) {
        this.rank = rank;
        this.channelAxis = channelAxis;
        this.toCore = toCore;
    }

    public int rank() { return rank; }

    /** The axis of output channels (one scale per index along it for per-channel specs). */
    public int channelAxis() { return channelAxis; }

    /** The permutation from this layout to core's {@code [out, in...]}. */
    int[] toCore() { return toCore.clone(); }

    /** The permutation from core's {@code [out, in...]} back to this layout. */
    int[] fromCore() {
        int[] inverse = new int[toCore.length];
        for (int i = 0; i < toCore.length; i++) {
            inverse[toCore[i]] = i;
        }
        return inverse;
    }

    /** The axes a per-channel block reduces over: every axis but the channel axis. */
    int[] blockAxes() {
        int[] axes = new int[rank - 1];
        for (int a = 0, k = 0; a < rank; a++) {
            if (a != channelAxis) axes[k++] = a;
        }
        return axes;
    }

    /** The layout {@code fakeQuantWeight} assumes for a weight of this rank: IN_OUT for 2, CONV2D_YXIO for 4, else null. */
    static SdWeightLayout defaultFor(int rank) {
        return rank == 2 ? IN_OUT : rank == 4 ? CONV2D_YXIO : null;
    }
}
