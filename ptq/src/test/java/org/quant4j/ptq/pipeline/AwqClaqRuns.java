package org.quant4j.ptq.pipeline;

import java.util.Locale;
import org.quant4j.core.QuantSpec;

/** Pipeline settings and printing shared by the AWQ and CLAQ pipeline tests. */
final class AwqClaqRuns {
    private AwqClaqRuns() {}

    /** Largest-divisor groups, MNIST calibration and held-out data ({@link TrainedMnist}), seed 3. */
    static PtqPipeline.Builder calibrated(PtqPipeline.Builder b) {
        return b.groupFallback(GroupFallback.LARGEST_DIVISOR).sourceModel("MnistMlp")
                .calibration(TrainedMnist.calibration()).heldOut(TrainedMnist.heldOut()).seed(3);
    }

    /** AutoAWQ's default grid: asymmetric, groups of 128 (112 on the MLP's 784 inputs). */
    static QuantSpec asym(int bits) {
        return QuantSpec.builder().bits(bits).asymmetric().groupSize(128).build();
    }

    static void print(String label, PtqResult<?> r, double accuracy, double fp32) {
        StringBuilder s = new StringBuilder();
        for (LayerReport l : r.report().layers()) {
            s.append(String.format(Locale.ROOT, "  %s %.3e (%.3f b/w)", l.layer(), l.outputError(), l.bitsPerWeight()));
        }
        System.out.printf(Locale.ROOT, "%-22s acc %.2f%% (fp32 %.2f%%)%s%n", label, 100 * accuracy, 100 * fp32, s);
    }
}
