package org.quant4j.ptq;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A layer shaped like a transformer projection: {@link RealisticWeights} (heavy-tailed, 0.1% outliers)
 * reading {@link SyntheticLayer}'s activations (correlated channels, six outlier channels ~10× the rest,
 * non-zero means); calibration rows and an independent held-out draw.
 */
public final class HeavyTailedLayer {
    private HeavyTailedLayer() {}

    public static SyntheticLayer create(long seed, int out, int in) {
        SyntheticLayer base = SyntheticLayer.create(seed, out, in, 4 * in, in / 4, 6);
        return new SyntheticLayer(Nd4j.create(RealisticWeights.generate(out, in, seed + 1000), new long[] {out, in},
                DataType.FLOAT), base.calibration(), base.heldOut());
    }
}
