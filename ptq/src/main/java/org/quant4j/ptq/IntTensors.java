package org.quant4j.ptq;

import java.util.stream.IntStream;
import org.quant4j.core.BitPacker;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Format;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/** Builds an INT {@link QuantizedTensor} from solver output, the same object {@code IntCodec} builds. */
public final class IntTensors {
    /** Codes per packing task, about. */
    private static final int PARALLEL_CODES = 1 << 20;

    private IntTensors() {}

    /**
     * @param codes      one unpacked code per element, row-major
     * @param scales     per-block scales, already representable in the spec's scale encoding
     *                   ({@link org.quant4j.core.formats.IntGrid} rounds them so)
     * @param zeros      per-block zero points (ignored when symmetric)
     * @param groupIndex the group of each column, or null when groups are consecutive
     */
    public static QuantizedTensor assemble(QuantSpec spec, long[] shape, byte[] codes, float[] scales, float[] zeros,
                                    int[] groupIndex) {
        EncodedArray storedScales = EncodedArray.encode(spec.scaleEncoding(), spec.bits(), scales);
        EncodedArray storedZeros = spec.symmetric() ? null
                : EncodedArray.encode(spec.zeroEncoding(), spec.bits(), zeros);
        byte[] packed = new byte[Math.toIntExact(BitPacker.packedLength(Format.INT, spec.bits(), codes.length))];
        int slices = codes.length < PARALLEL_CODES ? 1 : SymmetricPermutation.parallelSlices(codes.length / PARALLEL_CODES);
        IntStream.range(0, slices).parallel().forEach(s -> { // slices start at multiples of 8 codes: on a byte
            int from = (int) ((long) codes.length * s / slices) & ~7;
            int to = s + 1 == slices ? codes.length : (int) ((long) codes.length * (s + 1) / slices) & ~7;
            BitPacker.pack(codes, from, to - from, spec.bits(), packed, (int) ((long) from * spec.bits() / 8));
        });
        return new QuantizedTensor(spec, shape, packed, storedScales, storedZeros, 1f, groupIndex);
    }
}
