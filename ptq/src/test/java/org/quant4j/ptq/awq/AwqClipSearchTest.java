package org.quant4j.ptq.awq;

import org.quant4j.ptq.HeavyTailedLayer;
import org.quant4j.ptq.OutputError;
import org.quant4j.ptq.SyntheticLayer;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.QuantSpec;

/** AWQ's clip search never raises the output error on the rows it searched on. */
class AwqClipSearchTest {
    @Property(tries = 8)
    void clippingNeverRaisesTheSearchRowsError(@ForAll @IntRange(min = 0, max = 1000) int seed,
                                               @ForAll @IntRange(min = 2, max = 4) int bits, @ForAll boolean symmetric) {
        SyntheticLayer layer = HeavyTailedLayer.create(seed, 96, 256);
        QuantSpec spec = QuantSpec.builder().bits(bits).symmetric(symmetric).groupSize(seed % 2 == 0 ? 64 : 128).build();
        INDArray x = layer.calibration();
        AwqClipSearch.Result r = new AwqClipSearch().search("fc", layer.weight(), x, spec);

        AwqGrid grid = AwqGrid.of("fc", spec, 96, 256);
        float[] w = layer.weight().data().asFloat();
        INDArray unclipped = grid.quantize(w, layer.weight().shape(), null).dequantize();
        INDArray clipped = grid.quantize(w, layer.weight().shape(), r.clip()).dequantize();
        double before = OutputError.relative(layer.weight(), unclipped, x);
        double after = OutputError.relative(layer.weight(), clipped, x);

        assertThat(r.errorAfter()).isLessThanOrEqualTo(r.errorBefore());
        assertThat(after).as("independently measured: %g unclipped", before).isLessThanOrEqualTo(before * (1 + 1e-6));
        float[] amax = grid.blockAbsMax(w);
        for (int b = 0; b < amax.length; b++) {
            if (r.clip()[b] != Float.POSITIVE_INFINITY) {
                double steps = (1 - r.clip()[b] / amax[b]) * 20;
                assertThat(steps).as("block %d shrink in 1/20 steps", b).isCloseTo(Math.rint(steps),
                        org.assertj.core.data.Offset.offset(1e-3));
                assertThat(Math.rint(steps)).isBetween(1.0, 9.0);
            }
        }
    }
}
