package org.quant4j.core.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * The whole-file checksum of a model file. {@code java.util.zip} ignores several archive fields (local header
 * times and CRCs, disk numbers...), so a per-entry CRC alone would miss damage there. The archive's comment is
 * therefore {@code quant4j-crc32:} followed by eight lowercase hex digits: the CRC32 of every file byte before
 * those digits. Since the comment closes the end-of-central-directory record (APPNOTE.TXT 4.3.16), a model
 * file always ends with the 22-byte record, the 14-byte prefix and the 8 digits.
 */
final class FileSeal {
    static final String COMMENT_PREFIX = "quant4j-crc32:";
    static final int DIGITS = 8;
    static final String PLACEHOLDER_COMMENT = COMMENT_PREFIX + "0".repeat(DIGITS);
    private static final byte[] PREFIX_BYTES = COMMENT_PREFIX.getBytes(StandardCharsets.US_ASCII);
    private static final int COMMENT_LENGTH = PLACEHOLDER_COMMENT.length();
    private static final int END_RECORD_LENGTH = 22;
    /** End-of-central-directory record plus the comment. */
    static final int TAIL_LENGTH = END_RECORD_LENGTH + COMMENT_LENGTH;
    private static final byte[] LOCAL_HEADER_SIGNATURE = {'P', 'K', 3, 4};
    private static final byte[] END_SIGNATURE = {'P', 'K', 5, 6};
    /** How far back from the end a sealed archive followed by trailing bytes is looked for. */
    private static final int TRAILING_SCAN = 1 << 20;
    private static final int CHUNK = 1 << 20;

    private FileSeal() {}

    /** Eight lowercase hex digits of a CRC32 value. */
    static String hex(long crc32) {
        return String.format("%08x", crc32);
    }

    /** The CRC32 of eight lowercase hex digits, or -1 when they are anything else. */
    static long parseHex(byte[] digits) {
        if (digits.length != DIGITS) {
            return -1;
        }
        long v = 0;
        for (byte c : digits) {
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) {
                return -1;
            }
            v = v << 4 | d;
        }
        return v;
    }

    /**
     * Checks that the file is a zip archive that ends exactly with quant4j's end record and comment: tells an
     * empty, non-zip, truncated file or one with bytes appended apart.
     */
    static void checkEnds(FileChannel channel, long size, FileErrors errors) throws IOException {
        if (size == 0) {
            throw errors.corrupt("the file is empty (truncated to 0 bytes)");
        }
        byte[] head = readAt(channel, 0, (int) Math.min(size, LOCAL_HEADER_SIGNATURE.length));
        if (!startsWith(LOCAL_HEADER_SIGNATURE, head)) {
            throw errors.corrupt("not a zip archive (it does not start with a zip local file header): "
                    + "not a quant4j model file");
        }
        if (size < LOCAL_HEADER_SIGNATURE.length) {
            throw errors.corrupt("truncated to " + size + " bytes");
        }
        if (size >= TAIL_LENGTH && isSealedEnd(readAt(channel, size - TAIL_LENGTH, TAIL_LENGTH), 0)) {
            return;
        }
        int window = (int) Math.min(size, TRAILING_SCAN);
        byte[] last = readAt(channel, size - window, window);
        for (int i = window - TAIL_LENGTH - 1; i >= 0; i--) {
            if (isSealedEnd(last, i)) {
                long end = size - window + i + TAIL_LENGTH;
                throw errors.corrupt((size - end) + " bytes of trailing data after the end of the archive (at offset "
                        + end + ")");
            }
        }
        throw errors.corrupt("truncated or damaged at its end (" + size + " bytes): it does not end with the zip "
                + "end record and the '" + COMMENT_PREFIX + "' checksum comment of a quant4j model file");
    }

    /** Checks the comment's digits against the CRC32 of every byte before them. */
    static void verifyChecksum(FileChannel channel, long size, FileErrors errors) throws IOException {
        byte[] digits = readAt(channel, size - DIGITS, DIGITS);
        long stored = parseHex(digits);
        if (stored < 0) {
            throw errors.corrupt("the checksum comment is damaged: '" + new String(digits, StandardCharsets.ISO_8859_1)
                    + "' is not 8 lowercase hex digits");
        }
        CRC32 crc = new CRC32();
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(CHUNK, size));
        for (long pos = 0, end = size - DIGITS; pos < end; ) {
            buffer.clear().limit((int) Math.min(CHUNK, end - pos));
            readFully(channel, buffer, pos);
            buffer.flip();
            pos += buffer.remaining();
            crc.update(buffer);
        }
        if (crc.getValue() != stored) {
            throw errors.corrupt("whole-file CRC32 mismatch (stored " + hex(stored) + ", computed " + hex(crc.getValue())
                    + "): the file was damaged after it was written");
        }
    }

    private static boolean isSealedEnd(byte[] b, int at) {
        int commentLength = (b[at + 20] & 0xFF) | (b[at + 21] & 0xFF) << 8;
        return regionEquals(b, at, END_SIGNATURE) && commentLength == COMMENT_LENGTH
                && regionEquals(b, at + END_RECORD_LENGTH, PREFIX_BYTES);
    }

    private static boolean startsWith(byte[] prefix, byte[] b) {
        return regionEquals(b, 0, Arrays.copyOf(prefix, Math.min(prefix.length, b.length)));
    }

    private static boolean regionEquals(byte[] b, int at, byte[] expected) {
        return Arrays.equals(b, at, at + expected.length, expected, 0, expected.length);
    }

    private static byte[] readAt(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        readFully(channel, buffer, position);
        return buffer.array();
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position);
            if (n < 0) {
                throw new EOFException("the file shrank while it was read");
            }
            position += n;
        }
    }
}
