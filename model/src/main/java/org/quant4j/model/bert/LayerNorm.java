package org.quant4j.model.bert;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Layer normalisation over the last axis (Ba, Kiros &amp; Hinton 2016, eq. 4) of a residual sum, as the
 * ONNX export spells it: {@code y = (s − mean(s)) / sqrt(mean((s − mean(s))²) + eps) · gamma + beta}
 * with {@code s = x + residual} (biased variance). One fused pass per row over the raw buffers (mean and
 * variance accumulated in double), rows split over the cores: a chain of ND4J ops would allocate and
 * traverse the tensor six times.
 */
final class LayerNorm {
    /** Below this many values the rows are not split over threads. */
    private static final int PARALLEL_THRESHOLD = 1 << 16;

    final String name;
    /** {@code [1, width]}. */
    final INDArray gamma;
    /** {@code [1, width]}. */
    final INDArray beta;
    final float eps;

    LayerNorm(String name, INDArray gamma, INDArray beta, float eps) {
        this.name = name;
        this.gamma = gamma;
        this.beta = beta;
        this.eps = eps;
    }

    /**
     * Writes {@code LayerNorm(x + residual)} into {@code out}; all three {@code [n, width]}, C-contiguous
     * ({@code residual} may be null, {@code out} may be {@code x}). Returns {@code out}.
     */
    INDArray apply(INDArray x, INDArray residual, INDArray out) {
        int rows = (int) x.rows();
        int width = (int) x.columns();
        float[] g = gamma.toFloatVector();
        float[] b = beta.toFloatVector();
        FloatBuffer xs = RawRows.buffer(x);
        FloatBuffer rs = residual == null ? null : RawRows.buffer(residual);
        FloatBuffer os = RawRows.buffer(out);
        int parts = (long) rows * width < PARALLEL_THRESHOLD ? 1 : Runtime.getRuntime().availableProcessors();
        IntStream.range(0, parts).parallel().forEach(p -> {
            float[] row = new float[width];
            for (int r = (int) ((long) rows * p / parts), end = (int) ((long) rows * (p + 1) / parts); r < end; r++) {
                normalizeRow(xs, rs, os, r * width, row, g, b);
            }
        });
        return out;
    }

    private void normalizeRow(FloatBuffer xs, FloatBuffer rs, FloatBuffer os, int base, float[] row, float[] g,
                              float[] b) {
        int width = row.length;
        double sum = 0;
        for (int j = 0; j < width; j++) {
            float v = rs == null ? xs.get(base + j) : xs.get(base + j) + rs.get(base + j);
            row[j] = v;
            sum += v;
        }
        float mean = (float) (sum / width);
        double squares = 0;
        for (int j = 0; j < width; j++) {
            float d = row[j] - mean;
            row[j] = d;
            squares += (double) d * d;
        }
        float std = (float) Math.sqrt((float) (squares / width) + eps);
        for (int j = 0; j < width; j++) {
            os.put(base + j, row[j] / std * g[j] + b[j]);
        }
    }
}
