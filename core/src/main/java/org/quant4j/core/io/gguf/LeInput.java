package org.quant4j.core.io.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.core.io.PrintableText;

/** Buffered little-endian reads from a file channel that name the file and the field on truncation. */
final class LeInput {
    private static final int BUFFER = 1 << 16;
    private final FileChannel channel;
    private final String file;
    private final long size;
    private ByteBuffer buf = ByteBuffer.allocate(BUFFER).order(ByteOrder.LITTLE_ENDIAN).limit(0);
    private long bufStart;

    LeInput(FileChannel channel, String file) throws IOException {
        this.channel = channel;
        this.file = file;
        this.size = channel.size();
    }

    long size() { return size; }

    long position() { return bufStart + buf.position(); }

    long remaining() { return size - position(); }

    private void need(int n, String what) throws IOException {
        if (buf.remaining() >= n) {
            return;
        }
        long pos = position();
        if (size - pos < n) {
            throw corrupt(": truncated GGUF file: " + what + " at byte " + pos + " needs "
                    + n + " bytes, the file has " + size);
        }
        if (n > buf.capacity()) {
            buf = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        }
        buf.clear();
        bufStart = pos;
        while (buf.position() < n) {
            if (channel.read(buf, bufStart + buf.position()) < 0) {
                throw corrupt(": truncated GGUF file: " + what + " at byte " + pos);
            }
        }
        buf.flip();
    }

    /** A problem at a field of this file; the field's name may hold a key from the file, so it is escaped. */
    private CorruptFileException corrupt(String problem) {
        return corrupt(problem, null);
    }

    private CorruptFileException corrupt(String problem, Throwable cause) {
        return new CorruptFileException(PrintableText.escape(file + problem), cause);
    }

    int u8(String what) throws IOException {
        need(1, what);
        return buf.get() & 0xFF;
    }

    int u16(String what) throws IOException {
        need(2, what);
        return buf.getShort() & 0xFFFF;
    }

    long u32(String what) throws IOException {
        need(4, what);
        return buf.getInt() & 0xFFFF_FFFFL;
    }

    long u64(String what) throws IOException {
        need(8, what);
        return buf.getLong();
    }

    byte[] bytes(int n, String what) throws IOException {
        need(n, what);
        byte[] b = new byte[n];
        buf.get(b);
        return b;
    }

    /** A GGUF string: uint64 length, then that many UTF-8 bytes. */
    String string(String what) throws IOException {
        long start = position();
        long length = u64(what + " (length)");
        if (length < 0 || length > remaining()) {
            throw corrupt(": truncated or corrupt GGUF file: " + what + " at byte " + start
                    + " claims " + Long.toUnsignedString(length) + " bytes, only " + remaining() + " remain");
        }
        if (length > Integer.MAX_VALUE - 8) {
            throw corrupt(": " + what + " at byte " + start + " is too long (" + length + " bytes)");
        }
        byte[] b = bytes((int) length, what);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw corrupt(": " + what + " at byte " + start + " is not valid UTF-8", e);
        }
    }
}
