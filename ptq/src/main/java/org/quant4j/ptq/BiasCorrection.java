package org.quant4j.ptq;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.core.InvalidTensorException;

/**
 * Empirical bias correction: after a layer's weight {@code W} is replaced by its quantization {@code Ŵ}, its bias
 * is shifted so that the layer's mean output over the calibration data is the float model's again,
 * {@code b' = b + W·E[x] − Ŵ·E[x̂]}, where {@code x} are the layer's inputs in the float model and {@code x̂} its
 * inputs in the quantized model (every layer before it quantized and corrected). Applied layer by layer in model
 * order, each correction also removes the mean shift the layers before it propagated.
 *
 * <p>Finkelstein, Almog and Grobman, "Fighting Quantization Bias With Bias" (2019), §3 (the per-channel mean shift
 * that quantization builds up across layers, compensated through the bias term, estimated by iterative evaluation
 * of the quantized network); the data-free variant is Nagel et al., "Data-Free Quantization Through Weight
 * Equalization and Bias Correction" (ICCV 2019), §4.2, whose correction {@code −(Ŵ − W)·E[x]} this reduces to when
 * {@code E[x̂] = E[x]}; OpenVINO NNCF's {@code BiasCorrection} (post-training quantization) does the same with the
 * float and quantized model's per-layer outputs. The stored weights do not change; the bias stays fp32.
 */
public final class BiasCorrection {
    private BiasCorrection() {}

    /**
     * The bias shift {@code W·μ − Ŵ·μ̂}, one value per output row.
     *
     * @param w           the float weight, row-major {@code [out, in]}
     * @param quantized   the quantized (dequantized) weight, same layout
     * @param floatMean   {@code E[x]}, the layer's mean input in the float model, length {@code in}
     * @param quantMean   {@code E[x̂]}, its mean input in the quantized model, length {@code in}
     */
    public static float[] shift(String layer, float[] w, float[] quantized, double[] floatMean, double[] quantMean) {
        int in = floatMean.length;
        if (quantMean.length != in || in == 0 || w.length != quantized.length || w.length % in != 0) {
            throw new InvalidTensorException("bias correction of '" + layer + "': weights of " + w.length + " and "
                    + quantized.length + " values do not match mean inputs of " + in + " and " + quantMean.length);
        }
        int out = w.length / in;
        float[] shift = new float[out];
        for (int r = 0; r < out; r++) {
            double s = 0;
            int o = r * in;
            for (int c = 0; c < in; c++) {
                s += w[o + c] * floatMean[c] - quantized[o + c] * quantMean[c];
            }
            shift[r] = (float) s;
        }
        return shift;
    }

    /**
     * The layer's mean output {@code W·E[x] + b} (the float model's target for the corrected layer).
     *
     * @param bias the layer's bias, or null for none
     */
    public static double[] meanOutput(String layer, float[] w, float[] bias, double[] meanInput) {
        int in = meanInput.length;
        if (in == 0 || w.length % in != 0 || bias != null && bias.length != w.length / in) {
            throw new InvalidTensorException("bias correction of '" + layer + "': a weight of " + w.length
                    + " values, a bias of " + (bias == null ? 0 : bias.length) + " and a mean input of " + in
                    + " do not fit together");
        }
        double[] y = new double[w.length / in];
        for (int r = 0; r < y.length; r++) {
            double s = bias == null ? 0 : bias[r];
            for (int c = 0, o = r * in; c < in; c++) {
                s += w[o + c] * meanInput[c];
            }
            y[r] = s;
        }
        return y;
    }

    /**
     * The corrected bias {@code E[y] − Ŵ·E[x̂]}: with it the quantized layer's mean output over the calibration data
     * is {@code floatMeanOutput} ({@link #meanOutput} of the float layer). Equal to {@code b + }{@link #shift}.
     */
    public static float[] correctedBias(String layer, double[] floatMeanOutput, float[] quantized, double[] quantMean) {
        double[] q = meanOutput(layer, quantized, null, quantMean);
        if (q.length != floatMeanOutput.length) {
            throw new InvalidTensorException("bias correction of '" + layer + "': the float layer has "
                    + floatMeanOutput.length + " outputs but the quantized weight has " + q.length + " rows");
        }
        float[] b = new float[q.length];
        for (int r = 0; r < b.length; r++) {
            b[r] = (float) (floatMeanOutput[r] - q[r]);
        }
        return b;
    }

    /** Column means of input rows, accumulated batch by batch in double precision. */
    public static final class MeanInput {
        private final double[] sum;
        private long rows;

        public MeanInput(int width) {
            this.sum = new double[width];
        }

        /** Adds the rows of {@code [rows, width]} (any float array). */
        public void add(INDArray batch) {
            if (batch.rank() != 2 || batch.size(1) != sum.length) {
                throw new InvalidTensorException("mean input of width " + sum.length + " got rows of shape "
                        + java.util.Arrays.toString(batch.shape()));
            }
            float[] v = batch.dup('c').data().asFloat();
            int width = sum.length;
            for (int i = 0; i < v.length; i++) {
                sum[i % width] += v[i];
            }
            rows += batch.size(0);
        }

        public long rows() {
            return rows;
        }

        /** {@code E[x]} over the rows added so far. */
        public double[] mean() {
            if (rows == 0) {
                throw new InvalidTensorException("no input rows were seen, so there is no mean input");
            }
            double[] m = new double[sum.length];
            for (int c = 0; c < m.length; c++) {
                m[c] = sum[c] / rows;
            }
            return m;
        }
    }
}
