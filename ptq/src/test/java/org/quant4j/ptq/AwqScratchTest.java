package org.quant4j.ptq;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.*;

class AwqScratchTest {
    @Test
    void numbers() {
        int out = 768, in = 512;
        for (long seed : new long[] {1, 2, 3}) {
        SyntheticLayer base = SyntheticLayer.create(seed, out, in, 4 * in, in / 4, 6);
        SyntheticLayer layer = new SyntheticLayer(Nd4j.create(RealisticWeights.generate(out, in, seed), new long[] {out, in}, DataType.FLOAT),
                base.calibration(), base.heldOut());
        LayerStats stats = layer.stats("fc");
        for (int bits : new int[] {3, 4}) {
            QuantSpec spec = QuantSpec.builder().bits(bits).asymmetric().groupSize(128).build();
            double rtn = layer.relativeOutputError(new Rtn().solve("fc", layer.weight(), null, spec).dequantize());
            long t0 = System.nanoTime();
            Awq.GroupResult duo = new Awq().solveDetailed("fc", layer.weight(), stats, spec);
            long t1 = System.nanoTime();
            Awq.GroupResult paper = new Awq(new AwqScaleSearch(20, false), new AwqClipSearch(), true, 512).solveDetailed("fc", layer.weight(), stats, spec);
            Awq.GroupResult noclip = new Awq(new AwqScaleSearch(), new AwqClipSearch(), false, 512).solveDetailed("fc", layer.weight(), stats, spec);
            System.out.printf("seed %d %s rtn %.5f awq-duo %.5f (alpha %.2f, clip %s) awq-paper %.5f (alpha %.2f) duo-noclip %.5f  %.0f ms%n", seed, spec, rtn,
                layer.relativeOutputError(duo.layers().get(0).scaled().effectiveWeightArray()), duo.scales().alpha(), duo.layers().get(0).clip(),
                layer.relativeOutputError(paper.layers().get(0).scaled().effectiveWeightArray()), paper.scales().alpha(),
                layer.relativeOutputError(noclip.layers().get(0).scaled().effectiveWeightArray()), (t1 - t0) / 1e6);
        }
        }
    }
}
