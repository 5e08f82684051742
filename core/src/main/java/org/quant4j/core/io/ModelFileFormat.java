package org.quant4j.core.io;

/**
 * The quant4j model file, format version 1 or 2: a zip archive (PKWARE APPNOTE.TXT) of uncompressed entries, in
 * this order:
 * <ol>
 *   <li>{@code manifest.json}: format name and version, tool version, source model, metadata, and per tensor its
 *       name, shape, {@code QuantSpec} JSON, global scale and, per part, the entry, byte length and CRC32;</li>
 *   <li>one entry per part of each quantized tensor, in model order: {@code quantized/<i>.codes} (bit-packed
 *       codes), {@code quantized/<i>.scales}, {@code quantized/<i>.zeros} (encoded arrays, as
 *       {@code EncodedArray} stores them), {@code quantized/<i>.gidx} (the group index, one little-endian int32
 *       per column, AutoGPTQ's {@code g_idx}), then {@code float/<i>.data} per fp32 tensor (little-endian
 *       binary32). In version 2, the parts of each CLAQ tensor come between the two, in model order:
 *       {@code claq/<i>.widths} (one code width byte per column), {@code claq/<i>.codebooks} (FP16),
 *       {@code claq/<i>.codes} (packed per column), and only when it has outliers {@code claq/<i>.ocols},
 *       {@code claq/<i>.orows}, {@code claq/<i>.ovalues} (see {@code Manifest.ClaqEntry}).</li>
 * </ol>
 * Version 2 adds the {@code claqTensors} list to the manifest, and only files holding CLAQ tensors are written as
 * version 2: every other file is exactly version 1, which readers from before CLAQ read, while they reject a
 * version 2 file as too new. This reader reads both.
 * The zero points and the group index are optional parts: absent from a tensor's manifest record (and from the
 * archive) when its spec is symmetric, respectively when its groups are consecutive columns. A file without any
 * group index is exactly what readers written before the group index was added expect.
 * The archive comment seals the whole file ({@link FileSeal}). Equal models give equal bytes.
 */
final class ModelFileFormat {
    static final String FORMAT_NAME = "quant4j";
    /** The newest version, which this reader reads along with the older ones. */
    static final int FORMAT_VERSION = 2;
    /** The version of a file without CLAQ tensors. */
    static final int VERSION_WITHOUT_CLAQ = 1;
    static final String MANIFEST_ENTRY = "manifest.json";
    /** The longest entry: one byte array. */
    static final int MAX_ENTRY_BYTES = Integer.MAX_VALUE - 8;

    private ModelFileFormat() {}

    static String quantizedEntry(int index, String part) {
        return "quantized/" + index + "." + part;
    }

    /** Version 2 for a model holding CLAQ tensors, else version 1, so that older readers still read it. */
    static int versionFor(boolean hasClaq) {
        return hasClaq ? FORMAT_VERSION : VERSION_WITHOUT_CLAQ;
    }

    static String claqEntry(int index, String part) {
        return "claq/" + index + "." + part;
    }

    static String floatEntry(int index) {
        return "float/" + index + ".data";
    }
}
