package org.quant4j.core.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;

/**
 * Reads a quant4j model file ({@link ModelFileFormat}) and checks all of it: the archive's ends, the manifest's
 * CRC, format name and version and consistency, every blob's length and CRC32 (a damaged blob is reported by
 * tensor name), then the whole-file checksum, which also covers the archive fields {@code java.util.zip}
 * ignores. Any single damaged byte, any truncation and any trailing data are {@link CorruptFileException}s whose
 * message names the file, the tensor concerned and what is wrong. As checksums can be recomputed by anyone, every
 * stored value is also checked against its spec ({@link StoredValues}): a resealed file with NaN, zero or negative
 * scales, zero points outside the grid or codes outside the codebook is refused, naming the tensor and the part.
 */
public final class ModelFileReader {
    private ModelFileReader() {}

    /**
     * @throws CorruptFileException when the file is not a valid quant4j model file
     * @throws IOException          when it cannot be read (missing, unreadable)
     */
    public static QuantizedModel read(Path file) throws IOException {
        InputFiles.requireNotDirectory(file, "a quant4j model file");
        FileErrors errors = new FileErrors(file);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            FileSeal.checkEnds(channel, size, errors);
            QuantizedModel model;
            try (ZipFile zip = openZip(file, errors)) {
                model = new Contents(zip, size, errors).read();
            } catch (ZipException e) {
                throw errors.corrupt("damaged zip structure: " + e.getMessage(), e);
            }
            FileSeal.verifyChecksum(channel, size, errors);
            return model;
        }
    }

    /** Opens the archive; its {@code ZipException}s are turned into {@link CorruptFileException}s by the caller. */
    private static ZipFile openZip(Path file, FileErrors errors) throws IOException {
        try {
            return new ZipFile(file.toFile());
        } catch (RuntimeException e) {
            // JDK 17 reports every damaged central directory as a ZipException; should another JDK throw an
            // unchecked exception while parsing these untrusted bytes, it is still about this file's structure
            throw errors.corrupt("damaged zip structure: " + e, e);
        }
    }

    /** The manifest and blobs of one opened archive. */
    private static final class Contents {
        private final ZipFile zip;
        private final long fileSize;
        private final FileErrors errors;
        private final Map<String, ZipEntry> entries = new LinkedHashMap<>();
        private final Set<String> used = new HashSet<>();

        Contents(ZipFile zip, long fileSize, FileErrors errors) {
            this.zip = zip;
            this.fileSize = fileSize;
            this.errors = errors;
        }

        QuantizedModel read() throws IOException {
            for (Enumeration<? extends ZipEntry> all = zip.entries(); all.hasMoreElements(); ) {
                ZipEntry e = all.nextElement();
                if (entries.put(e.getName(), e) != null) {
                    throw errors.corrupt("the archive holds two entries named '" + e.getName() + "'");
                }
            }
            Manifest manifest = ManifestJson.read(readManifest(), errors);
            try {
                ManifestChecks.check(manifest);
            } catch (InvalidTensorException e) {
                throw errors.corrupt("inconsistent manifest: " + e.getMessage(), e);
            }
            QuantizedModel.Builder model = QuantizedModel.builder().sourceModel(manifest.sourceModel())
                    .metadata(manifest.metadata());
            for (Manifest.QuantizedEntry q : manifest.quantized()) {
                model.addQuantized(q.name(), quantized(q));
            }
            for (Manifest.ClaqEntry c : manifest.claq()) {
                model.addClaq(c.name(), claq(c));
            }
            for (Manifest.FloatEntry f : manifest.floats()) {
                byte[] data = blob(f.name(), "data", f.data());
                float[] values = new float[data.length / 4];
                ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
                model.addFloat(f.name(), new FloatTensor(f.shape(), values));
            }
            for (String name : entries.keySet()) {
                if (!used.contains(name)) {
                    throw errors.corrupt("the archive holds an entry '" + name + "' that the manifest does not list");
                }
            }
            return model.build();
        }

        private byte[] readManifest() throws IOException {
            ZipEntry e = entries.get(ModelFileFormat.MANIFEST_ENTRY);
            if (e == null) {
                throw errors.corrupt("the archive has no " + ModelFileFormat.MANIFEST_ENTRY + ": not a quant4j model file");
            }
            byte[] json = bytes(e, e.getSize(), ModelFileFormat.MANIFEST_ENTRY, null);
            long crc = crc32(json);
            if (crc != e.getCrc()) {
                throw errors.corrupt(ModelFileFormat.MANIFEST_ENTRY + " fails its CRC32 check (zip directory says "
                        + FileSeal.hex(e.getCrc()) + ", computed " + FileSeal.hex(crc) + ")");
            }
            return json;
        }

        private QuantizedTensor quantized(Manifest.QuantizedEntry q) throws IOException {
            byte[] codes = blob(q.name(), "codes", q.codes());
            EncodedArray scales = array(q.name(), "scales", q.scales(), ManifestChecks.blockCount(q));
            EncodedArray zeros = q.zeros() == null ? null
                    : array(q.name(), "zeros", q.zeros(), scales.count());
            int[] groupIndex = q.groupIndex() == null ? null : ints(blob(q.name(), "group index", q.groupIndex()));
            try { // checks the group index (one entry per column, each in range, every group exactly g columns), then the values
                QuantizedTensor t = new QuantizedTensor(q.spec(), q.shape(), codes, scales, zeros, q.globalScale(), groupIndex);
                StoredValues.check(t);
                return t;
            } catch (QuantizationException e) {
                throw errors.corruptTensor(q.name(), e.getMessage());
            }
        }

        /**
         * A CLAQ tensor, each part checked against the others: widths in 1..8, codebook and code lengths those
         * widths give, then (by {@link ClaqTensor}'s constructor) outlier offsets from 0, non-decreasing, within the
         * outlier count, and rows strictly increasing below the row count within each column.
         */
        private ClaqTensor claq(Manifest.ClaqEntry c) throws IOException {
            byte[] widths = blob(c.name(), "widths", c.widths());
            int rows = Math.toIntExact(c.shape().length <= 1 ? 1 : c.shape()[0]);
            long centroids = 0;
            long codeBytes = 0;
            for (int j = 0; j < widths.length; j++) {
                if (widths[j] < 1 || widths[j] > 8) {
                    throw errors.corruptTensor(c.name(), "column " + j + " has code width " + widths[j]
                            + ", expected 1..8");
                }
                centroids += 1 << widths[j];
                codeBytes += ClaqTensor.columnCodeBytes(rows, widths[j]);
            }
            if (c.codebooks().part().bytes() != 2 * centroids || c.codes().bytes() != codeBytes) {
                throw errors.corruptTensor(c.name(), "codebooks take " + c.codebooks().part().bytes()
                        + " bytes and codes " + c.codes().bytes() + ", but the column widths need " + centroids
                        + " FP16 centroids = " + 2 * centroids + " bytes and " + codeBytes + " code bytes for "
                        + rows + " rows");
            }
            EncodedArray codebooks = array(c.name(), "codebooks", c.codebooks(), centroids);
            byte[] codes = blob(c.name(), "codes", c.codes());
            int cols = widths.length;
            int[] columnStart = new int[cols + 1];
            int[] outlierRows = new int[0];
            EncodedArray values = EncodedArray.fromBytes(NumberEncoding.FP16, 16, 0, new byte[0]);
            if (c.outliers() > 0) {
                columnStart = ints(blob(c.name(), "outlier column offsets", c.outlierColumnStart()));
                byte[] rowBytes = blob(c.name(), "outlier rows", c.outlierRows());
                outlierRows = rows <= 1 << 16 ? uint16s(rowBytes) : ints(rowBytes); // as ClaqTensor.outlierIndexBytes
                values = array(c.name(), "outlier values", c.outlierValues(), c.outliers());
            }
            try {
                ClaqTensor t = new ClaqTensor(c.shape(), widths, codebooks, codes, columnStart, outlierRows, values);
                StoredValues.check(t);
                return t;
            } catch (QuantizationException e) {
                throw errors.corruptTensor(c.name(), e.getMessage());
            }
        }

        private static int[] uint16s(byte[] littleEndian) {
            int[] values = new int[littleEndian.length / 2];
            ByteBuffer b = ByteBuffer.wrap(littleEndian).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < values.length; i++) values[i] = b.getShort(2 * i) & 0xFFFF;
            return values;
        }

        private static int[] ints(byte[] littleEndian) {
            int[] values = new int[littleEndian.length / 4];
            ByteBuffer.wrap(littleEndian).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(values);
            return values;
        }

        private EncodedArray array(String tensor, String role, Manifest.ArrayPart part, long count) throws IOException {
            byte[] bytes = blob(tensor, role, part.part());
            try {
                return EncodedArray.fromBytes(part.encoding(), part.bits(), Math.toIntExact(count), bytes);
            } catch (QuantizationException e) {
                throw errors.corruptTensor(tensor, role + ": " + e.getMessage());
            }
        }

        /** A blob's bytes after checking its entry, length and CRC32 against the manifest. */
        private byte[] blob(String tensor, String role, Manifest.Part part) throws IOException {
            ZipEntry e = entries.get(part.entry());
            if (e == null) {
                throw errors.corruptTensor(tensor, "the " + role + " entry '" + part.entry() + "' is missing");
            }
            used.add(part.entry());
            if (e.getSize() != part.bytes()) {
                throw errors.corruptTensor(tensor, "the zip directory says the " + role + " entry '" + part.entry()
                        + "' holds " + e.getSize() + " bytes, the manifest says " + part.bytes());
            }
            byte[] data = bytes(e, part.bytes(), part.entry(), tensor);
            long crc = crc32(data);
            if (crc != part.crc32()) {
                throw errors.corruptTensor(tensor, "the " + role + " (entry '" + part.entry() + "') fail their CRC32 "
                        + "check (manifest says " + FileSeal.hex(part.crc32()) + ", computed " + FileSeal.hex(crc) + ")");
            }
            return data;
        }

        /** Reads an entry that the zip directory says is stored uncompressed with {@code length} bytes. */
        private byte[] bytes(ZipEntry e, long length, String entry, String tensor) throws IOException {
            if (e.getMethod() != ZipEntry.STORED) {
                throw damaged(tensor, "entry '" + entry + "' is compressed (method " + e.getMethod()
                        + "); quant4j stores every entry uncompressed");
            }
            if (e.getCompressedSize() != length) {
                throw damaged(tensor, "entry '" + entry + "' has inconsistent sizes in the zip directory ("
                        + e.getSize() + " and " + e.getCompressedSize() + " bytes)");
            }
            if (length < 0 || length > fileSize || length > ModelFileFormat.MAX_ENTRY_BYTES) {
                throw damaged(tensor, "entry '" + entry + "' claims " + length + " bytes in a file of " + fileSize);
            }
            used.add(entry);
            byte[] data = new byte[(int) length];
            int read;
            try (InputStream in = zip.getInputStream(e)) {
                read = in.readNBytes(data, 0, data.length);
            } catch (EOFException eof) {
                throw damaged(tensor, "entry '" + entry + "' ends early: the zip directory points past its data");
            }
            if (read != length) {
                throw damaged(tensor, "entry '" + entry + "' ends after " + read + " of its " + length + " bytes");
            }
            return data;
        }

        private CorruptFileException damaged(String tensor, String problem) {
            return tensor == null ? errors.corrupt(problem) : errors.corruptTensor(tensor, problem);
        }
    }

    private static long crc32(byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(data);
        return crc.getValue();
    }
}
