package org.quant4j.core.io;

import java.util.List;
import java.util.SortedMap;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;

/**
 * What {@code manifest.json} says (format version 1, or 2 when there are CLAQ tensors): the model's metadata and, per tensor, where each of its
 * parts is stored. Shapes are arrays: the records compare by identity and are never used as keys.
 */
record Manifest(String toolVersion, String sourceModel, SortedMap<String, String> metadata,
                List<QuantizedEntry> quantized, List<ClaqEntry> claq, List<FloatEntry> floats) {

    /** One blob: zip entry name, length in bytes, CRC32 of its bytes. */
    record Part(String entry, long bytes, long crc32) {}

    /** A blob holding an encoded float array (scales or zero points) and how it is encoded. */
    record ArrayPart(Part part, NumberEncoding encoding, int bits) {}

    /**
     * A quantized tensor; {@code zeros} is null when its spec is symmetric, {@code groupIndex} (one little-endian
     * int32 per column) is null when its groups are consecutive columns.
     */
    record QuantizedEntry(String name, long[] shape, QuantSpec spec, float globalScale, Part codes, ArrayPart scales,
                          ArrayPart zeros, Part groupIndex) {}

    /**
     * A CLAQ tensor ({@code org.quant4j.core.ClaqTensor}): its {@code bitsPerWeight} (all stored bytes), its outlier
     * count, and its parts: one width byte per column, FP16 codebooks, packed codes and, only when it has outliers,
     * the outlier column offsets ({@code cols + 1} little-endian int32), rows (little-endian uint16 when the tensor
     * has at most 65536 rows, else int32) and FP16 values; the three outlier parts are null without outliers.
     */
    record ClaqEntry(String name, long[] shape, double bitsPerWeight, long outliers, Part widths, ArrayPart codebooks,
                     Part codes, Part outlierColumnStart, Part outlierRows, ArrayPart outlierValues) {}

    /** An fp32 tensor: little-endian IEEE binary32 values, row-major. */
    record FloatEntry(String name, long[] shape, Part data) {}
}
