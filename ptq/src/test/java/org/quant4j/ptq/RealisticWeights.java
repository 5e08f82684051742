package org.quant4j.ptq;

import java.util.SplittableRandom;

/**
 * Synthetic weights shaped like an LLM linear layer's: Gaussian entries of standard deviation about
 * 0.02 with a log-normal spread of the per-row scale, 2% heavy-tailed entries (a Gaussian over the
 * square root of a uniform: a Student-t-like tail) and 0.1% outliers at 8..16 row standard deviations.
 */
public final class RealisticWeights {
    private RealisticWeights() {}

    /** A row-major {@code rows × cols} weight from {@code seed}. */
    public static float[] generate(int rows, int cols, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double rowStd = 0.02 * Math.exp(0.3 * gaussian(random));
            for (int c = 0; c < cols; c++) {
                double v = gaussian(random) * rowStd;
                double u = random.nextDouble();
                if (u < 0.02) {
                    v = gaussian(random) * rowStd / Math.sqrt(Math.max(1e-3, random.nextDouble()));
                } else if (u < 0.021) {
                    v = (random.nextBoolean() ? 1 : -1) * rowStd * (8 + 8 * random.nextDouble());
                }
                w[r * cols + c] = (float) v;
            }
        }
        return w;
    }

    /** A standard normal sample (Box-Muller). */
    public static double gaussian(SplittableRandom random) {
        double u = 1 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}
