package org.quant4j.core.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * Writes a file all or nothing: into a new hidden temporary file beside the target, flushed and fsync'd, then
 * renamed over the target in one atomic step. If anything fails, the temporary file is deleted and an existing
 * target is left as it was. Used by the writers of the project's own format and of GGUF.
 *
 * <p>A temporary file is named {@code .<target>.quant4j-<16 hex>.tmp} and locked while it is written. A process
 * killed mid-write cannot delete its own, so each write first removes the stale ones of that directory: ours by
 * name, not locked by anyone (the lock dies with its process) and untouched for {@link #STALE_AFTER}.
 *
 * <p>Problems with the target are reported as {@link FileSystemException}s naming the target and the real cause (a
 * missing or read-only directory, a target that is a directory), never the temporary file.
 */
public final class AtomicFileWriter {
    /** A temporary file untouched this long, and not locked, belongs to a write that died. */
    static final Duration STALE_AFTER = Duration.ofSeconds(10);
    private static final String MARKER = ".quant4j-";
    private static final Pattern TEMPORARY = Pattern.compile("\\..+\\.quant4j-[0-9a-f]{16}\\.tmp");
    private static final int BUFFER = 1 << 16;
    private static final int NAME_ATTEMPTS = 16;
    /** Temporary files this JVM is writing: never opened by the cleanup (closing a channel drops a JVM's locks). */
    private static final Set<Path> WRITING = ConcurrentHashMap.newKeySet();

    /** What goes into the file. */
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFileWriter() {}

    /**
     * Checks that {@code target} can be written before any long work: its directory exists and it is not itself a
     * directory.
     *
     * @throws FileSystemException naming the target and what is wrong
     */
    public static void checkTarget(Path target) throws FileSystemException {
        Path absolute = target.toAbsolutePath();
        Path directory = absolute.getParent();
        if (Files.isDirectory(absolute)) {
            throw new FileSystemException(target.toString(), null, "is a directory; give a file name");
        }
        if (!Files.exists(directory)) {
            throw new NoSuchFileException(target.toString(), null, "the directory " + directory + " does not exist");
        }
        if (!Files.isDirectory(directory)) {
            throw new NotDirectoryException(target + ": " + directory + " is not a directory");
        }
    }

    /**
     * @param streamDecorator wraps the file's stream (identity in production; tests inject failures here)
     */
    public static void write(Path target, UnaryOperator<OutputStream> streamDecorator, Content content)
            throws IOException {
        checkTarget(target);
        Path absolute = target.toAbsolutePath();
        Path directory = absolute.getParent();
        removeStaleTemporaries(directory);
        Path temp = createTemporary(target, directory, absolute.getFileName().toString());
        WRITING.add(temp);
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE);
                 FileLock ignored = tryLock(channel)) {
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
        } finally {
            WRITING.remove(temp);
        }
        syncDirectory(directory);
    }

    /** Whether a file name is one of our temporary files. */
    static boolean isTemporaryName(String name) {
        return TEMPORARY.matcher(name).matches();
    }

    /**
     * A new empty file {@code .<name>.quant4j-<random>.tmp}, created with the default permissions a new target would
     * get; a directory that refuses it (read-only, no permission, full) is reported for the target.
     */
    private static Path createTemporary(Path target, Path directory, String name) throws IOException {
        for (int attempt = 1; ; attempt++) {
            Path candidate = directory.resolve("." + name + MARKER
                    + String.format("%016x", ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                return Files.createFile(candidate);
            } catch (FileAlreadyExistsException e) {
                if (attempt == NAME_ATTEMPTS) {
                    throw e;
                }
            } catch (FileSystemException e) {
                String reason = e.getReason() == null ? e.getClass().getSimpleName() : e.getReason();
                FileSystemException named = new FileSystemException(target.toString(), null,
                        "cannot create a file in " + directory + ": " + reason);
                named.initCause(e);
                throw named;
            }
        }
    }

    /** Our locked channel's lock, or null where the file system has no locks (the name and age still protect it). */
    private static FileLock tryLock(FileChannel channel) {
        try {
            return channel.tryLock();
        } catch (IOException | OverlappingFileLockException | UnsupportedOperationException e) {
            return null;
        }
    }

    /** Best effort: a temporary file that cannot be examined or deleted is left alone. */
    private static void removeStaleTemporaries(Path directory) {
        Instant staleBefore = Instant.now().minus(STALE_AFTER);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, p -> isTemporaryName(p.getFileName().toString()))) {
            for (Path p : files) {
                if (!WRITING.contains(p) && Files.getLastModifiedTime(p).toInstant().isBefore(staleBefore)) {
                    deleteIfUnlocked(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // see the method comment
        }
    }

    private static void deleteIfUnlocked(Path p) {
        try (FileChannel channel = FileChannel.open(p, StandardOpenOption.WRITE);
             FileLock lock = channel.tryLock()) {
            if (lock != null) {
                Files.delete(p);
            }
        } catch (IOException | OverlappingFileLockException e) {
            // in use, gone already or not ours to delete: leave it
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
            // see the method comment
        }
    }
}
