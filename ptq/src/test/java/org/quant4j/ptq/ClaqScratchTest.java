package org.quant4j.ptq;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.*;

class ClaqScratchTest {
    @Test
    void numbers() {
        int out = 512, in = 384;
        SyntheticLayer base = SyntheticLayer.create(7, out, in, 4 * in, in / 4, 4);
        SyntheticLayer layer = new SyntheticLayer(Nd4j.create(RealisticWeights.generate(out, in, 3), new long[] {out, in}, DataType.FLOAT),
                base.calibration(), base.heldOut());
        LayerStats stats = layer.stats("fc");
        long t0 = System.nanoTime();
        for (double target : new double[] {2.0, 2.1, 2.5, 3.0, 3.1}) {
            for (boolean reserve : new boolean[] {false, true}) {
                t0 = System.nanoTime();
                ClaqTensor t = new Claq(ClaqParams.builder().adaptivePrecision(target).reserveOutliers(reserve).build()).solve("fc", layer.weight(), stats);
                System.out.printf("claq %.1f reserve=%s: err %.5f bpw %.3f codebits %.3f outliers %d  %.0f ms%n", target, reserve,
                        layer.relativeOutputError(t.dequantize()), t.bitsPerWeight(), t.averageCodeBits(), t.outlierCount(), (System.nanoTime() - t0) / 1e6);
            }
        }
        for (int bits : new int[] {2, 3, 4}) {
            QuantSpec spec = QuantSpec.builder().bits(bits).asymmetric().groupSize(128).build();
            QuantizedTensor g = new Gptq().solve("fc", layer.weight(), stats, spec);
            QuantizedTensor r = new Rtn().solve("fc", layer.weight(), null, spec);
            System.out.printf("%s gptq %.5f (%.3f bpw) rtn %.5f%n", spec, layer.relativeOutputError(g.dequantize()), g.bitsPerWeight(), layer.relativeOutputError(r.dequantize()));
        }
    }
}
