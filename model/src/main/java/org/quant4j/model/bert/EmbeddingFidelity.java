package org.quant4j.model.bert;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

/**
 * How faithfully candidate sentence embeddings reproduce reference (fp32) ones, for the same sentences in the
 * same order: the cosine similarity of each candidate row to its reference row (mean and minimum), and the
 * <em>top-1 nearest-neighbour agreement</em> — for each sentence, its nearest other sentence of the set by
 * cosine is found once under the reference and once under the candidate; the agreement is the fraction of
 * sentences for which the two are the same sentence. Nearest neighbours come from one Gram matrix
 * ({@code E·Eᵀ}, a single gemm) per embedding set; ties go to the lower index.
 *
 * <pre>{@code
 * EmbeddingFidelity.Reference fp32 = EmbeddingFidelity.reference(model.embed(sentences)); // once
 * EmbeddingFidelity.Result r = fp32.compare(quantizedModel.embed(sentences));
 * }</pre>
 */
public final class EmbeddingFidelity {
    private EmbeddingFidelity() {
    }

    /**
     * Mean and minimum cosine of candidate rows to reference rows, and the top-1 nearest-neighbour agreement.
     *
     * @param sentences the number of rows compared
     */
    public record Result(double meanCosine, double minCosine, double top1Agreement, int sentences) {
    }

    /**
     * Prepares reference embeddings {@code [n, d]} (n ≥ 2) for any number of comparisons: their nearest
     * neighbours are computed once here.
     *
     * @throws InvalidTensorException if the array is not a matrix of at least two rows, or a row is zero or not finite
     */
    public static Reference reference(INDArray embeddings) {
        float[][] rows = unitRows(embeddings, "reference");
        return new Reference(rows, nearestNeighbours(rows));
    }

    /** {@code reference(reference).compare(candidate)}. */
    public static Result compare(INDArray reference, INDArray candidate) {
        return reference(reference).compare(candidate);
    }

    /** Reference embeddings (L2-normalised copies) and the index of each row's nearest other row. */
    public static final class Reference {
        private final float[][] rows;
        private final int[] neighbours;

        private Reference(float[][] rows, int[] neighbours) {
            this.rows = rows;
            this.neighbours = neighbours;
        }

        public int size() {
            return rows.length;
        }

        /** The index of each sentence's nearest other sentence (by cosine) under the reference (a copy). */
        public int[] neighbours() {
            return neighbours.clone();
        }

        /**
         * Compares candidate embeddings of the same sentences, in the same order.
         *
         * @throws InvalidTensorException if the shape differs from the reference or a row is zero or not finite
         */
        public Result compare(INDArray candidate) {
            if (candidate.rank() != 2 || candidate.rows() != rows.length || candidate.columns() != rows[0].length) {
                throw new InvalidTensorException("candidate embeddings of shape " + Arrays.toString(candidate.shape())
                        + " do not match the reference's [" + rows.length + ", " + rows[0].length + "]");
            }
            float[][] cand = unitRows(candidate, "candidate");
            double sum = 0;
            double min = Double.POSITIVE_INFINITY;
            for (int i = 0; i < rows.length; i++) {
                double dot = 0;
                for (int j = 0; j < rows[i].length; j++) {
                    dot += (double) rows[i][j] * cand[i][j];
                }
                sum += dot;
                min = Math.min(min, dot);
            }
            int[] candNeighbours = nearestNeighbours(cand);
            int agree = 0;
            for (int i = 0; i < rows.length; i++) {
                if (candNeighbours[i] == neighbours[i]) {
                    agree++;
                }
            }
            return new Result(sum / rows.length, min, (double) agree / rows.length, rows.length);
        }
    }

    /**
     * For each row of an L2-normalised set, the index of the row of highest cosine among the others (lower
     * index on ties), from one Gram matrix product.
     */
    static int[] nearestNeighbours(float[][] unitRows) {
        int n = unitRows.length;
        INDArray e = Nd4j.create(unitRows).castTo(DataType.FLOAT);
        float[] gram = e.mmul(e.transpose()).dup('c').data().asFloat();
        int[] nn = new int[n];
        for (int i = 0; i < n; i++) {
            int best = -1;
            float bestValue = Float.NEGATIVE_INFINITY;
            int base = i * n;
            for (int k = 0; k < n; k++) {
                if (k != i && gram[base + k] > bestValue) {
                    bestValue = gram[base + k];
                    best = k;
                }
            }
            nn[i] = best;
        }
        return nn;
    }

    /** Row-major float copies of the rows, each divided by its L2 norm. */
    private static float[][] unitRows(INDArray embeddings, String what) {
        if (embeddings.rank() != 2 || embeddings.rows() < 2 || embeddings.columns() < 1) {
            throw new InvalidTensorException(what + " embeddings must be a matrix [sentences >= 2, width], got "
                    + Arrays.toString(embeddings.shape()));
        }
        int n = embeddings.rows();
        int d = embeddings.columns();
        float[] flat = embeddings.castTo(DataType.FLOAT).dup('c').data().asFloat();
        float[][] rows = new float[n][d];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < d; j++) {
                float v = flat[i * d + j];
                if (!Float.isFinite(v)) {
                    throw new InvalidTensorException(what + " embedding row " + i + " holds a NaN or infinite value");
                }
                norm += (double) v * v;
            }
            if (norm == 0) {
                throw new InvalidTensorException(what + " embedding row " + i + " is zero: no direction to compare");
            }
            double inv = 1 / Math.sqrt(norm);
            for (int j = 0; j < d; j++) {
                rows[i][j] = (float) (flat[i * d + j] * inv);
            }
        }
        return rows;
    }
}
