package org.quant4j.core.formats;

import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.FormatCodec;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * The INT format: round-to-nearest on the uniform 2..8-bit grid of {@link IntGrid}, one scale (and
 * zero point) per block of any granularity. Codes are bit-packed densely ({@link BitPacker}); scales
 * are stored in the spec's scale encoding (rounded up, so each block stays covered), zero points as
 * b-bit unsigned integers (UINT) or FP16/FP32. Large tensors are processed in parallel chunks that
 * quantize into a small buffer and pack it, or unpack and scale it, without a full-size code array.
 */
public final class IntCodec implements FormatCodec {
    @Override
    public QuantizedTensor quantize(float[] data, long[] shape, QuantSpec spec) {
        IntGrid grid = IntGrid.of(spec);
        TensorBlocks blocks = TensorBlocks.of(shape, spec.granularity(), data.length);
        float[] scales = new float[blocks.count()];
        float[] zeros = new float[blocks.count()];
        fit(grid, blocks, data, scales, zeros);

        EncodedArray storedScales = EncodedArray.encode(spec.scaleEncoding(), spec.bits(), scales);
        EncodedArray storedZeros = spec.symmetric() ? null
                : EncodedArray.encode(spec.zeroEncoding(), spec.bits(), zeros);
        float[] s = storedScales.values();
        float[] z = spec.symmetric() ? zeros : storedZeros.values();
        int bits = spec.bits();
        byte[] packed = new byte[Math.toIntExact(BitPacker.packedLength(Format.INT, bits, data.length))];
        blocks.forEachChunk((chunk, from, to, scratch) -> {
            float[] values = scratch.values;
            byte[] codes = scratch.codes;
            int length = to - from;
            System.arraycopy(data, from, values, 0, length);
            blocks.forEachSegment(from, to,
                    (b, i, end) -> grid.codesInPlace(values, i - from, end - from, s[b], z[b]));
            for (int k = 0; k < length; k++) {
                codes[k] = (byte) (int) values[k];
            }
            BitPacker.pack(codes, 0, length, bits, packed, from / 8 * bits);
        });
        return new QuantizedTensor(spec, shape, packed, storedScales, storedZeros, 1f);
    }

    @Override
    public void dequantize(QuantizedTensor t, float[] out) {
        QuantSpec spec = t.spec();
        if (out.length != t.size()) {
            throw new IllegalArgumentException("output has " + out.length + " elements, the tensor " + t.size());
        }
        IntGrid grid = IntGrid.of(spec);
        TensorBlocks blocks = TensorBlocks.of(t.shape(), spec.granularity(), out.length);
        int bits = spec.bits();
        float[] s = t.scales().values();
        float[] z = spec.symmetric() ? null : t.zeros().values();
        float symmetricZero = 1 << (bits - 1);
        byte[] packed = t.codes();
        if (t.hasGroupIndex()) {
            dequantizeIndexedGroups(t, grid, blocks, s, z, symmetricZero, out);
            return;
        }
        blocks.forEachChunk((chunk, from, to, scratch) -> {
            byte[] codes = scratch.codes;
            BitPacker.unpack(packed, from / 8 * bits, to - from, bits, codes, 0);
            blocks.forEachSegment(from, to, (b, i, end) ->
                    grid.values(codes, i - from, end - i, s[b], z == null ? symmetricZero : z[b], out, i));
        });
    }

    /** Dequantization when column {@code c} belongs to group {@code groupIndex[c]} (GPTQ act-order groups). */
    private static void dequantizeIndexedGroups(QuantizedTensor t, IntGrid grid, TensorBlocks blocks, float[] s,
                                                float[] z, float symmetricZero, float[] out) {
        int bits = t.spec().bits();
        int cols = Math.toIntExact(t.cols());
        int groupsPerRow = cols / t.spec().granularity().groupSize();
        int[] groupIndex = t.groupIndex();
        byte[] packed = t.codes();
        blocks.forEachChunk((chunk, from, to, scratch) -> {
            byte[] codes = scratch.codes;
            BitPacker.unpack(packed, from / 8 * bits, to - from, bits, codes, 0);
            int row = from / cols;
            int col = from - row * cols;
            for (int i = from; i < to; i++) {
                int b = row * groupsPerRow + groupIndex[col];
                out[i] = grid.value(codes[i - from] & 0xFF, s[b], z == null ? symmetricZero : z[b]);
                if (++col == cols) {
                    col = 0;
                    row++;
                }
            }
        });
    }

    /** Fits every block: per-block min/max, or for one tensor-wide block a parallel min/max over chunks. */
    private static void fit(IntGrid grid, TensorBlocks blocks, float[] data, float[] scales, float[] zeros) {
        if (blocks.count() == 1) {
            float[] mins = new float[blocks.chunkCount()];
            float[] maxs = new float[blocks.chunkCount()];
            blocks.forEachChunk((chunk, from, to, scratch) -> {
                float min = 0f; // both grids contain 0 (see IntGrid.fit)
                float max = 0f;
                for (int i = from; i < to; i++) {
                    min = Math.min(min, data[i]);
                    max = Math.max(max, data[i]);
                }
                mins[chunk] = min;
                maxs[chunk] = max;
            });
            float min = 0f;
            float max = 0f;
            for (int c = 0; c < mins.length; c++) {
                min = Math.min(min, mins[c]);
                max = Math.max(max, maxs[c]);
            }
            store(0, fitBlock(grid, blocks, 0, min, max), scales, zeros);
            return;
        }
        int length = blocks.length();
        blocks.forEachBlock(b -> {
            try {
                store(b, grid.fit(data, b * length, length), scales, zeros);
            } catch (InvalidTensorException e) {
                throw located(blocks, b, e);
            }
        });
    }

    private static IntGrid.Params fitBlock(IntGrid grid, TensorBlocks blocks, int b, float min, float max) {
        try {
            return grid.fitRange(min, max);
        } catch (InvalidTensorException e) {
            throw located(blocks, b, e);
        }
    }

    private static InvalidTensorException located(TensorBlocks blocks, int b, InvalidTensorException e) {
        return new InvalidTensorException(blocks.describe(b) + ": " + e.getMessage(), e);
    }

    private static void store(int b, IntGrid.Params p, float[] scales, float[] zeros) {
        scales[b] = p.scale();
        zeros[b] = p.zero();
    }
}
