package org.quant4j.core.io;

/**
 * The quant4j model file, format version 1: a zip archive (PKWARE APPNOTE.TXT) of uncompressed entries, in
 * this order:
 * <ol>
 *   <li>{@code manifest.json}: format name and version, tool version, source model, metadata, and per tensor its
 *       name, shape, {@code QuantSpec} JSON, global scale and, per part, the entry, byte length and CRC32;</li>
 *   <li>one entry per part of each quantized tensor, in model order: {@code quantized/<i>.codes} (bit-packed
 *       codes), {@code quantized/<i>.scales}, {@code quantized/<i>.zeros} (encoded arrays, as
 *       {@code EncodedArray} stores them), {@code quantized/<i>.gidx} (the group index, one little-endian int32
 *       per column, AutoGPTQ's {@code g_idx}), then {@code float/<i>.data} per fp32 tensor (little-endian
 *       binary32).</li>
 * </ol>
 * The zero points and the group index are optional parts: absent from a tensor's manifest record (and from the
 * archive) when its spec is symmetric, respectively when its groups are consecutive columns. A file without any
 * group index is exactly what readers written before the group index was added expect.
 * The archive comment seals the whole file ({@link FileSeal}). Equal models give equal bytes.
 */
final class ModelFileFormat {
    static final String FORMAT_NAME = "quant4j";
    static final int FORMAT_VERSION = 1;
    static final String MANIFEST_ENTRY = "manifest.json";
    /** The longest entry: one byte array. */
    static final int MAX_ENTRY_BYTES = Integer.MAX_VALUE - 8;

    private ModelFileFormat() {}

    static String quantizedEntry(int index, String part) {
        return "quantized/" + index + "." + part;
    }

    static String floatEntry(int index) {
        return "float/" + index + ".data";
    }
}
