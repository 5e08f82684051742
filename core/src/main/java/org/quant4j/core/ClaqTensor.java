package org.quant4j.core;

import java.util.Arrays;
import java.util.Objects;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A weight quantized by CLAQ (Wang et al. 2024, "CLAQ: Pushing the Limits of Low-Bit Post-Training
 * Quantization for LLMs"; reference code fayuge/CLAQ): column-level codebooks with a code width per
 * column, plus a sparse set of weights kept at full (FP16) precision. The tensor is the row-major {@code rows × cols} matrix of
 * {@link QuantizedTensor} ({@code rows = shape[0]} output channels); a <em>column</em> is one input
 * channel, {@code rows} values.
 *
 * <p>Stored parts, each exactly what a file holds:
 * <ul>
 *   <li>{@code columnBits}: the code width {@code b_j} (1..8) of each column, one byte per column;</li>
 *   <li>{@code codebooks}: FP16, the {@code 2^b_j} centroids of column 0, then of column 1, ...;</li>
 *   <li>{@code codes}: column-major; column {@code j} is its {@code rows} codes of {@code b_j} bits packed by
 *       {@link BitPacker} (little-endian bit stream) in {@code ceil(rows·b_j/8)} bytes, columns one after
 *       the other, each starting on a byte boundary;</li>
 *   <li>outliers in compressed-sparse-column form: {@code outlierColumnStart} ({@code cols + 1}
 *       non-decreasing offsets, from 0 to the outlier count), {@code outlierRows} (strictly increasing
 *       inside a column) and {@code outlierValues} (FP16).</li>
 * </ul>
 * Element {@code (r, j)} dequantizes to its outlier value when {@code (r, j)} is an outlier, otherwise to
 * {@code codebook_j[code(r, j)]}; the code stored at an outlier position is never read.
 *
 * <p>Why not a {@link Format} of {@link QuantizedTensor}: that type's invariants are one code width for
 * the whole tensor and per-block affine scales (code length and scale count follow from the spec), while
 * CLAQ has a width per column, codebooks instead of scales and a sparse part. A separate type keeps both
 * honest, and offers the same reading methods ({@link #dequantize()}, {@link #storageBytes()},
 * {@link #bitsPerWeight()}).
 */
public final class ClaqTensor {
    /** Columns dequantized per task; larger tensors are dequantized in parallel. */
    private static final int COLUMN_TILE = 64;

    private final long[] shape;
    private final int rows;
    private final int cols;
    private final byte[] columnBits;
    private final EncodedArray codebooks;
    private final byte[] codes;
    private final int[] outlierColumnStart;
    private final int[] outlierRows;
    private final EncodedArray outlierValues;
    private final int[] codebookOffset;
    private final int[] codeOffset;

    /**
     * @param shape              {@code rows × rest}; rows and columns each at most {@code 2^31 - 1}
     * @param columnBits         the code width of each column (a copy is kept)
     * @param codebooks          FP16 centroids, {@code Σ 2^b_j} values
     * @param codes              packed codes, {@code Σ ceil(rows·b_j/8)} bytes (shared, not copied)
     * @param outlierColumnStart {@code cols + 1} offsets into the outlier arrays (a copy is kept)
     * @param outlierRows        the row of each outlier (a copy is kept)
     * @param outlierValues      FP16 outlier values, one per outlier row
     * @throws QuantizationException naming the inconsistent part
     */
    public ClaqTensor(long[] shape, byte[] columnBits, EncodedArray codebooks, byte[] codes, int[] outlierColumnStart,
                      int[] outlierRows, EncodedArray outlierValues) {
        this.shape = shape.clone();
        long n = 1;
        for (long d : this.shape) {
            if (d <= 0) {
                throw new QuantizationException("CLAQ tensor shape " + Arrays.toString(shape) + " has a dimension < 1");
            }
            n = Math.multiplyExact(n, d);
        }
        long r = this.shape.length <= 1 ? 1 : this.shape[0];
        long c = n / r;
        if (r > Integer.MAX_VALUE || c > Integer.MAX_VALUE) {
            throw new QuantizationException("CLAQ tensor shape " + Arrays.toString(shape) + " is too large");
        }
        this.rows = (int) r;
        this.cols = (int) c;
        this.columnBits = checkedBits(columnBits);
        this.codebooks = Objects.requireNonNull(codebooks, "codebooks");
        this.codes = Objects.requireNonNull(codes, "codes");
        this.outlierColumnStart = outlierColumnStart.clone();
        this.outlierRows = outlierRows.clone();
        this.outlierValues = Objects.requireNonNull(outlierValues, "outlierValues");
        this.codebookOffset = new int[cols + 1];
        this.codeOffset = new int[cols + 1];
        long centroids = 0;
        long bytes = 0;
        for (int j = 0; j < cols; j++) {
            codebookOffset[j] = Math.toIntExact(centroids);
            codeOffset[j] = Math.toIntExact(bytes);
            centroids += 1L << this.columnBits[j];
            bytes += columnCodeBytes(rows, this.columnBits[j]);
        }
        codebookOffset[cols] = Math.toIntExact(centroids);
        codeOffset[cols] = Math.toIntExact(bytes);
        checkParts(centroids, bytes);
    }

    private byte[] checkedBits(byte[] bits) {
        if (bits.length != cols) {
            throw new QuantizationException(describe() + ": " + bits.length + " column widths for " + cols + " columns");
        }
        for (int j = 0; j < cols; j++) {
            if (bits[j] < 1 || bits[j] > 8) {
                throw new QuantizationException(describe() + ": column " + j + " has code width " + bits[j]
                        + ", expected 1..8");
            }
        }
        return bits.clone();
    }

    private void checkParts(long centroids, long bytes) {
        if (codebooks.encoding() != NumberEncoding.FP16 || codebooks.count() != centroids) {
            throw new QuantizationException(describe() + ": needs " + centroids + " FP16 centroids, got "
                    + codebooks.count() + " " + codebooks.encoding());
        }
        if (codes.length != bytes) {
            throw new QuantizationException(describe() + ": needs " + bytes + " code bytes, got " + codes.length);
        }
        if (outlierColumnStart.length != cols + 1 || outlierColumnStart[0] != 0) {
            throw new QuantizationException(describe() + ": outlier column offsets must be " + (cols + 1)
                    + " values starting at 0, got " + outlierColumnStart.length);
        }
        for (int j = 0; j < cols; j++) {
            int from = outlierColumnStart[j];
            int to = outlierColumnStart[j + 1];
            if (to < from || to > outlierRows.length) {
                throw new QuantizationException(describe() + ": outlier offsets of column " + j + " are [" + from
                        + ", " + to + "), not a range of the " + outlierRows.length + " outliers");
            }
            for (int k = from; k < to; k++) {
                if (outlierRows[k] < 0 || outlierRows[k] >= rows || (k > from && outlierRows[k] <= outlierRows[k - 1])) {
                    throw new QuantizationException(describe() + ": outlier rows of column " + j
                            + " must be strictly increasing in 0.." + (rows - 1) + ", got " + outlierRows[k]);
                }
            }
        }
        if (outlierColumnStart[cols] != outlierRows.length) {
            throw new QuantizationException(describe() + ": outlier offsets end at " + outlierColumnStart[cols]
                    + " but there are " + outlierRows.length + " outlier rows");
        }
        if (outlierValues.encoding() != NumberEncoding.FP16 || outlierValues.count() != outlierRows.length) {
            throw new QuantizationException(describe() + ": needs " + outlierRows.length + " FP16 outlier values, got "
                    + outlierValues.count() + " " + outlierValues.encoding());
        }
    }

    /** Bytes of one column's packed codes. */
    public static long columnCodeBytes(int rows, int bits) {
        return BitPacker.packedLength(Format.INT, bits, rows);
    }

    public long[] shape() { return shape.clone(); }

    public long size() { return (long) rows * cols; }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** The code width of each column (a copy). */
    public byte[] columnBits() { return columnBits.clone(); }

    /** The code width of column {@code j}. */
    public int columnBits(int j) { return columnBits[j]; }

    /** All centroids, FP16, column after column. */
    public EncodedArray codebooks() { return codebooks; }

    /** Column {@code j}'s {@code 2^b_j} centroids (a copy). */
    public float[] codebook(int j) {
        return Arrays.copyOfRange(codebooks.values(), codebookOffset[j], codebookOffset[j + 1]);
    }

    /** The packed codes (shared, do not modify). */
    public byte[] codes() { return codes; }

    /** The unpacked codes of column {@code j}, {@code rows} values. */
    public byte[] columnCodes(int j) {
        byte[] out = new byte[rows];
        BitPacker.unpack(codes, codeOffset[j], rows, columnBits[j], out, 0);
        return out;
    }

    /** Outlier offsets per column, {@code cols + 1} values (a copy). */
    public int[] outlierColumnStart() { return outlierColumnStart.clone(); }

    /** The row of each outlier (a copy). */
    public int[] outlierRows() { return outlierRows.clone(); }

    /** The outlier values, FP16. */
    public EncodedArray outlierValues() { return outlierValues; }

    public int outlierCount() { return outlierRows.length; }

    /** Mean code width over the columns (the "average bits" of the paper, codebooks and outliers excluded). */
    public double averageCodeBits() {
        long sum = 0;
        for (byte b : columnBits) sum += b;
        return (double) sum / cols;
    }

    /** Bytes of one stored outlier row index: 2 when every row fits in 16 bits, else 4. */
    public int outlierIndexBytes() {
        return rows <= 1 << 16 ? 2 : 4;
    }

    /**
     * Bytes stored: packed codes, FP16 codebooks, one width byte per column and, when there are outliers,
     * {@code 4·(cols + 1)} bytes of int32 column offsets plus per outlier its row index
     * ({@link #outlierIndexBytes()}) and its FP16 value. The shape is not counted (as for {@link QuantizedTensor}).
     */
    public long storageBytes() {
        long outliers = outlierRows.length == 0 ? 0
                : 4L * (cols + 1) + (long) outlierRows.length * (outlierIndexBytes() + 2);
        return codes.length + codebooks.byteLength() + cols + outliers;
    }

    /** True bits per weight, all stored bytes included. */
    public double bitsPerWeight() {
        return storageBytes() * 8.0 / size();
    }

    /** Dequantizes into a new row-major float array. */
    public float[] dequantizeToArray() {
        float[] out = new float[Math.toIntExact(size())];
        dequantizeInto(out);
        return out;
    }

    /** Dequantizes into {@code out} (length {@link #size()}), row-major. */
    public void dequantizeInto(float[] out) {
        if (out.length != size()) {
            throw new QuantizationException(describe() + ": output has " + out.length + " elements, expected " + size());
        }
        int tiles = (cols + COLUMN_TILE - 1) / COLUMN_TILE;
        IntStream tasks = IntStream.range(0, tiles);
        (size() >= 1 << 18 ? tasks.parallel() : tasks).forEach(t -> dequantizeColumns(t * COLUMN_TILE,
                Math.min(cols, (t + 1) * COLUMN_TILE), out));
    }

    private void dequantizeColumns(int from, int to, float[] out) {
        byte[] column = new byte[rows];
        float[] centroids = codebooks.values();
        float[] values = outlierValues.values();
        for (int j = from; j < to; j++) {
            BitPacker.unpack(codes, codeOffset[j], rows, columnBits[j], column, 0);
            int base = codebookOffset[j];
            for (int r = 0, i = j; r < rows; r++, i += cols) {
                out[i] = centroids[base + (column[r] & 0xFF)];
            }
            for (int k = outlierColumnStart[j]; k < outlierColumnStart[j + 1]; k++) {
                out[outlierRows[k] * cols + j] = values[k];
            }
        }
    }

    /** Dequantizes into a new FLOAT INDArray of the original shape. */
    public INDArray dequantize() {
        return Nd4j.create(dequantizeToArray(), shape, DataType.FLOAT);
    }

    private String describe() {
        return "CLAQ tensor " + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClaqTensor t && Arrays.equals(t.shape, shape) && Arrays.equals(t.columnBits, columnBits)
                && t.codebooks.equals(codebooks) && Arrays.equals(t.codes, codes)
                && Arrays.equals(t.outlierColumnStart, outlierColumnStart) && Arrays.equals(t.outlierRows, outlierRows)
                && t.outlierValues.equals(outlierValues);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(shape), Arrays.hashCode(columnBits), codebooks, Arrays.hashCode(codes),
                Arrays.hashCode(outlierRows));
    }

    @Override
    public String toString() {
        return String.format("ClaqTensor%s %.3f code bits, %d outliers, %.3f bits/weight", Arrays.toString(shape),
                averageCodeBits(), outlierRows.length, bitsPerWeight());
    }
}
