package org.quant4j.ptq;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.*;

class AwqTimingScratchTest {
    @Test
    void timing() {
        int out = 1536, in = 384;
        SyntheticLayer base = SyntheticLayer.create(1, out, in, 4 * in, in / 4, 6);
        INDArray w = Nd4j.create(RealisticWeights.generate(out, in, 1), new long[] {out, in}, DataType.FLOAT);
        LayerStats stats = base.stats("fc");
        QuantSpec spec = QuantSpec.builder().bits(4).asymmetric().groupSize(128).build();
        for (int rep = 0; rep < 3; rep++) {
            INDArray x = stats.sampleRows();
            long t0 = System.nanoTime();
            AwqScaleSearch.Result s = new AwqScaleSearch().search("fc", List.of(w), stats.meanAbs(), spec, AwqLoss.outputError(x, List.of(w)));
            long t1 = System.nanoTime();
            INDArray ws = AwqFolding.scaleColumns(w, s.scales());
            AwqClipSearch.Result c = new AwqClipSearch().search("fc", ws, x, spec);
            long t2 = System.nanoTime();
            ClaqTensor cl = new Claq(ClaqParams.adaptive(2.5)).solve("fc", w, stats);
            long t3 = System.nanoTime();
            float[] deq = cl.dequantizeToArray();
            long t4 = System.nanoTime();
            System.out.printf("scale %.0f ms clip %.0f ms claq %.0f ms claq-deq %.2f ms%n", (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4-t3)/1e6);
        }
    }
}
