package org.quant4j.ptq;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.LayerStats;

/**
 * A synthetic linear layer with realistic inputs: activations {@code X = Z·A} (Gaussian {@code Z} of
 * rank {@code latent}, random mixing {@code A}, so input channels are correlated), a handful of outlier
 * channels with ~10× the typical magnitude, and non-zero channel means; weights Gaussian with
 * per-row scales. Rows of X are calibration inputs; a second, independent draw is held out.
 */
public record SyntheticLayer(INDArray weight, INDArray calibration, INDArray heldOut) {

    public static SyntheticLayer create(long seed, int out, int in, int calibrationRows, int latent, int outliers) {
        Random random = new Random(seed);
        float[] mixing = gaussian(random, latent * in, (float) (1 / Math.sqrt(latent)));
        float[] channelScale = new float[in];
        float[] channelMean = new float[in];
        for (int c = 0; c < in; c++) {
            channelScale[c] = 0.5f + random.nextFloat();
            channelMean[c] = 0.3f * (float) random.nextGaussian();
        }
        for (int k = 0; k < outliers; k++) {
            channelScale[random.nextInt(in)] *= 10f;
        }
        float[] w = gaussian(random, out * in, 1f);
        for (int r = 0; r < out; r++) {
            float rowScale = 0.02f * (0.5f + random.nextFloat());
            for (int c = 0; c < in; c++) {
                w[r * in + c] *= rowScale;
            }
        }
        return new SyntheticLayer(Nd4j.create(w, new long[] {out, in}, DataType.FLOAT),
                activations(random, calibrationRows, in, latent, mixing, channelScale, channelMean),
                activations(random, Math.max(256, calibrationRows / 4), in, latent, mixing, channelScale, channelMean));
    }

    private static INDArray activations(Random random, int rows, int in, int latent, float[] mixing, float[] scale,
                                        float[] mean) {
        INDArray z = Nd4j.create(gaussian(random, rows * latent, 1f), new long[] {rows, latent}, DataType.FLOAT);
        INDArray x = z.mmul(Nd4j.create(mixing, new long[] {latent, in}, DataType.FLOAT));
        x.muliRowVector(Nd4j.create(scale, new long[] {1, in}, DataType.FLOAT));
        x.addiRowVector(Nd4j.create(mean, new long[] {1, in}, DataType.FLOAT));
        return x;
    }

    public static float[] gaussian(Random random, int n, float sigma) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = sigma * (float) random.nextGaussian();
        }
        return v;
    }

    public int in() {
        return (int) weight.size(1);
    }

    /** Statistics of the calibration rows, fed in batches of 256. */
    public LayerStats stats(String name) {
        LayerStats stats = new LayerStats(name, in(), 512, 1L);
        long rows = calibration.rows();
        for (long r = 0; r < rows; r += 256) {
            stats.accumulate(name, calibration.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(r, Math.min(rows, r + 256)),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()));
        }
        return stats;
    }

    /** {@code ‖W Xᵀ − Ŵ Xᵀ‖² / ‖W Xᵀ‖²} on the held-out rows. */
    public double relativeOutputError(INDArray quantized) {
        return OutputError.relative(weight, quantized, heldOut);
    }
}
