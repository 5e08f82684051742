package org.quant4j.core.io;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * Passes everything written through to another stream except the last {@code holdBack} bytes, which it keeps,
 * and maintains the CRC32 of the bytes passed. Lets the file seal replace a placeholder at the very end of the
 * archive by the checksum of everything before it, in one pass and on any stream.
 */
final class CrcHoldBackOutputStream extends OutputStream {
    private final OutputStream out;
    private final CRC32 crc = new CRC32();
    private final byte[] held;
    private int heldLength;

    CrcHoldBackOutputStream(OutputStream out, int holdBack) {
        this.out = out;
        this.held = new byte[holdBack];
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (heldLength + len <= held.length) {
            System.arraycopy(b, off, held, heldLength, len);
            heldLength += len;
            return;
        }
        int release = heldLength + len - held.length;
        int fromHeld = Math.min(heldLength, release);
        pass(held, 0, fromHeld);
        int fromInput = release - fromHeld;
        pass(b, off, fromInput);
        int keptFromHeld = heldLength - fromHeld;
        System.arraycopy(held, fromHeld, held, 0, keptFromHeld);
        System.arraycopy(b, off + fromInput, held, keptFromHeld, len - fromInput);
        heldLength = held.length;
    }

    private void pass(byte[] b, int off, int len) throws IOException {
        if (len > 0) {
            crc.update(b, off, len);
            out.write(b, off, len);
        }
    }

    /** The bytes written last and not passed on (fewer than {@code holdBack} only if fewer were written). */
    byte[] heldBytes() {
        return Arrays.copyOf(held, heldLength);
    }

    /** CRC32 of the bytes passed on so far. */
    long crc32() {
        return crc.getValue();
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    /** Does not close the underlying stream: its owner does. */
    @Override
    public void close() {
    }
}
