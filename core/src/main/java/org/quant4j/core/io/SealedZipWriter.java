package org.quant4j.core.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a zip archive whose bytes depend only on its entries: every entry stored uncompressed (compressed
 * bytes could differ between zlib builds, and packed codes hardly compress), in the given order, with one
 * fixed local time and no extra fields; then the {@link FileSeal} comment with the whole-file CRC32.
 */
final class SealedZipWriter {
    /** The time of every entry, set as a local DOS time so that the bytes do not depend on the time zone. */
    private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(2000, 1, 1, 0, 0);

    /** One entry: its name, its bytes and their CRC32. */
    record Entry(String name, byte[] data, long crc32) {}

    private SealedZipWriter() {}

    static void write(OutputStream out, List<Entry> entries) throws IOException {
        CrcHoldBackOutputStream sealed = new CrcHoldBackOutputStream(out, FileSeal.DIGITS);
        ZipOutputStream zip = new ZipOutputStream(sealed, StandardCharsets.UTF_8);
        zip.setMethod(ZipOutputStream.STORED);
        zip.setComment(FileSeal.PLACEHOLDER_COMMENT);
        for (Entry entry : entries) {
            ZipEntry e = new ZipEntry(entry.name());
            e.setMethod(ZipEntry.STORED);
            e.setSize(entry.data().length);
            e.setCompressedSize(entry.data().length);
            e.setCrc(entry.crc32());
            e.setTimeLocal(ENTRY_TIME);
            zip.putNextEntry(e);
            zip.write(entry.data());
            zip.closeEntry();
        }
        zip.finish();
        byte[] placeholder = FileSeal.PLACEHOLDER_COMMENT.substring(FileSeal.COMMENT_PREFIX.length())
                .getBytes(StandardCharsets.US_ASCII);
        if (!Arrays.equals(sealed.heldBytes(), placeholder)) {
            throw new IllegalStateException("the zip archive does not end with the checksum placeholder");
        }
        out.write(FileSeal.hex(sealed.crc32()).getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }
}
