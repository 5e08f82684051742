package org.quant4j.core.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;

/**
 * Writes a {@link QuantizedModel} as a quant4j model file ({@link ModelFileFormat}). The same model always gives
 * the same bytes. The file is written all or nothing: to a temporary file in the target's directory, fsync'd,
 * then renamed over the target; on failure neither a partial target nor the temporary file remains.
 */
public final class ModelFileWriter {
    private ModelFileWriter() {}

    /**
     * @throws InvalidTensorException when a tensor cannot be stored consistently (its scales or zero points are not
     *                                encoded as its spec says, its group size does not divide its rows, a stored
     *                                value breaks its spec's rules as {@link StoredValues} checks them); nothing is
     *                                written then
     * @throws IOException            when the file cannot be written; nothing is left behind then
     */
    public static void write(Path file, QuantizedModel model) throws IOException {
        write(file, model, UnaryOperator.identity());
    }

    /** As {@link #write(Path, QuantizedModel)}, with the file's output stream wrapped by {@code streamDecorator}. */
    static void write(Path file, QuantizedModel model, UnaryOperator<OutputStream> streamDecorator) throws IOException {
        AtomicFileWriter.write(file, streamDecorator, out -> SealedZipWriter.write(out, entries(file, model)));
    }

    /** The archive's entries: the manifest, then every blob in model order. */
    private static List<SealedZipWriter.Entry> entries(Path file, QuantizedModel model) {
        List<SealedZipWriter.Entry> blobs = new ArrayList<>();
        List<Manifest.QuantizedEntry> quantized = new ArrayList<>();
        int index = 0;
        for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
            QuantizedTensor t = e.getValue();
            Manifest.Part codes = blob(blobs, ModelFileFormat.quantizedEntry(index, "codes"), t.codes());
            Manifest.ArrayPart scales = arrayBlob(blobs, ModelFileFormat.quantizedEntry(index, "scales"), t.scales());
            Manifest.ArrayPart zeros = t.zeros() == null ? null
                    : arrayBlob(blobs, ModelFileFormat.quantizedEntry(index, "zeros"), t.zeros());
            Manifest.Part groupIndex = t.hasGroupIndex()
                    ? blob(blobs, ModelFileFormat.quantizedEntry(index, "gidx"), littleEndian(t.groupIndex())) : null;
            quantized.add(new Manifest.QuantizedEntry(e.getKey(), t.shape(), t.spec(), t.globalScale(), codes, scales,
                    zeros, groupIndex));
            index++;
        }
        List<Manifest.ClaqEntry> claq = new ArrayList<>();
        index = 0;
        for (Map.Entry<String, ClaqTensor> e : model.claqTensors().entrySet()) {
            claq.add(claqEntry(blobs, index++, e.getKey(), e.getValue()));
        }
        List<Manifest.FloatEntry> floats = new ArrayList<>();
        index = 0;
        for (Map.Entry<String, FloatTensor> e : model.floatTensors().entrySet()) {
            FloatTensor t = e.getValue();
            floats.add(new Manifest.FloatEntry(e.getKey(), t.shape(),
                    blob(blobs, ModelFileFormat.floatEntry(index), littleEndian(t.data()))));
            index++;
        }
        Manifest manifest = new Manifest(ToolVersion.VERSION, model.sourceModel(), model.metadata(), quantized, claq,
                floats);
        try {
            ManifestChecks.check(manifest);
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("cannot write " + file + ": " + e.getMessage());
        }
        model.quantizedTensors().forEach((name, t) -> checkValues(file, name, () -> StoredValues.check(t)));
        model.claqTensors().forEach((name, t) -> checkValues(file, name, () -> StoredValues.check(t)));
        byte[] json = ManifestJson.write(manifest);
        List<SealedZipWriter.Entry> entries = new ArrayList<>(blobs.size() + 1);
        entries.add(new SealedZipWriter.Entry(ModelFileFormat.MANIFEST_ENTRY, json, crc32(json)));
        entries.addAll(blobs);
        return entries;
    }

    /** Runs a {@link StoredValues} check, naming the file and tensor when it fails (the reader would refuse them). */
    private static void checkValues(Path file, String tensor, Runnable check) {
        try {
            check.run();
        } catch (InvalidTensorException e) {
            throw new InvalidTensorException("cannot write " + file + ": tensor '" + tensor + "': " + e.getMessage(), e);
        }
    }

    /** A CLAQ tensor's blobs; the outlier parts only when it has outliers (as {@code storageBytes} counts them). */
    private static Manifest.ClaqEntry claqEntry(List<SealedZipWriter.Entry> blobs, int index, String name, ClaqTensor t) {
        Manifest.Part widths = blob(blobs, ModelFileFormat.claqEntry(index, "widths"), t.columnBits());
        Manifest.ArrayPart codebooks = arrayBlob(blobs, ModelFileFormat.claqEntry(index, "codebooks"), t.codebooks());
        Manifest.Part codes = blob(blobs, ModelFileFormat.claqEntry(index, "codes"), t.codes());
        Manifest.Part columns = null;
        Manifest.Part rows = null;
        Manifest.ArrayPart values = null;
        if (t.outlierCount() > 0) {
            columns = blob(blobs, ModelFileFormat.claqEntry(index, "ocols"), littleEndian(t.outlierColumnStart()));
            rows = blob(blobs, ModelFileFormat.claqEntry(index, "orows"),
                    t.outlierIndexBytes() == 2 ? littleEndianUint16(t.outlierRows()) : littleEndian(t.outlierRows()));
            values = arrayBlob(blobs, ModelFileFormat.claqEntry(index, "ovalues"), t.outlierValues());
        }
        return new Manifest.ClaqEntry(name, t.shape(), t.bitsPerWeight(), t.outlierCount(), widths, codebooks, codes,
                columns, rows, values);
    }

    private static Manifest.Part blob(List<SealedZipWriter.Entry> blobs, String name, byte[] data) {
        long crc = crc32(data);
        blobs.add(new SealedZipWriter.Entry(name, data, crc));
        return new Manifest.Part(name, data.length, crc);
    }

    private static Manifest.ArrayPart arrayBlob(List<SealedZipWriter.Entry> blobs, String name, EncodedArray array) {
        return new Manifest.ArrayPart(blob(blobs, name, array.bytes()), array.encoding(), array.bits());
    }

    private static byte[] littleEndian(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    private static byte[] littleEndian(int[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return b.array();
    }

    /** Values in 0..65535 as little-endian unsigned 16-bit integers. */
    private static byte[] littleEndianUint16(int[] values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) b.putShort((short) v);
        return b.array();
    }

    private static long crc32(byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(data);
        return crc.getValue();
    }
}
