package org.quant4j.core.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;

/**
 * Writes a file all or nothing: into a new hidden temporary file beside the target, flushed and fsync'd, then
 * renamed over the target in one atomic step. If anything fails, the temporary file is deleted and an
 * existing target is left as it was. Used by the writers of the project's own format and of GGUF.
 */
public final class AtomicFileWriter {
    private static final int BUFFER = 1 << 16;
    private static final int NAME_ATTEMPTS = 16;

    /** What goes into the file. */
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFileWriter() {}

    /**
     * @param streamDecorator wraps the file's stream (identity in production; tests inject failures here)
     */
    public static void write(Path target, UnaryOperator<OutputStream> streamDecorator, Content content)
            throws IOException {
        Path absolute = target.toAbsolutePath();
        Path directory = absolute.getParent();
        Path temp = createTemporary(directory, absolute.getFileName().toString());
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                OutputStream out = streamDecorator.apply(
                        new BufferedOutputStream(Channels.newOutputStream(channel), BUFFER));
                content.writeTo(out);
                out.flush();
                channel.force(true);
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (Throwable failure) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                failure.addSuppressed(e);
            }
            throw failure;
        }
        syncDirectory(directory);
    }

    /** A new empty file {@code .<name>.<random>.tmp}, created with the default permissions a new target would get. */
    private static Path createTemporary(Path directory, String name) throws IOException {
        for (int attempt = 1; ; attempt++) {
            Path candidate = directory.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong())
                    + ".tmp");
            try {
                return Files.createFile(candidate);
            } catch (FileAlreadyExistsException e) {
                if (attempt == NAME_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /**
     * Makes the rename itself durable. Opening a directory for sync works on Linux and macOS; where the platform
     * refuses (Windows), the rename is still atomic and the data already synced, so the failure is ignored.
     */
    private static void syncDirectory(Path directory) {
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException unsupported) {
            // see the method comment: durability of the directory entry is best effort
        }
    }
}
