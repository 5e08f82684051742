package org.quant4j.core.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/** Test support for hand-edited model files: read a valid file's entries, seal edited entries as the writer does. */
final class CraftedModelFiles {
    private CraftedModelFiles() {}

    /** Every entry of {@code file}, by name, in the file's order. */
    static Map<String, byte[]> entries(Path file) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (ZipEntry e : zip.stream().toList()) entries.put(e.getName(), zip.getInputStream(e).readAllBytes());
        }
        return entries;
    }

    /** {@code entries} sealed as {@code ModelFileWriter} seals them, in a new file under {@code dir}. */
    static Path seal(Path dir, Map<String, byte[]> entries) throws IOException {
        List<SealedZipWriter.Entry> sealed = new ArrayList<>();
        entries.forEach((name, data) -> sealed.add(new SealedZipWriter.Entry(name, data, crc32(data))));
        Path file = Files.createTempFile(dir, "crafted", ".q4j");
        try (OutputStream out = Files.newOutputStream(file)) {
            SealedZipWriter.write(out, sealed);
        }
        return file;
    }

    static long crc32(byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(data);
        return crc.getValue();
    }
}
