package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stale temporary files of killed runs, and errors that name the target's real problem, never the temporary file. */
class AtomicFileWriterTest {
    @TempDir
    Path dir;

    private static void write(Path target) throws IOException {
        AtomicFileWriter.write(target, UnaryOperator.identity(), out -> out.write(new byte[] {1, 2, 3}));
    }

    /** A temporary file as a run killed mid-write leaves it, last touched {@code ageSeconds} ago. */
    private Path leftover(String target, long ageSeconds) throws IOException {
        Path p = Files.write(dir.resolve("." + target + ".quant4j-00000000deadbeef.tmp"), new byte[] {9});
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minusSeconds(ageSeconds)));
        return p;
    }

    private String[] listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toArray(String[]::new);
        }
    }

    @Test
    void theNextWriteRemovesStaleTemporaryFilesOfOursOnly() throws IOException {
        Path stale = leftover("model.q4j", 3600);
        Path foreign = Files.write(dir.resolve(".model.q4j.0123456789abcdef.tmp"), new byte[] {9});
        Path mine = Files.write(dir.resolve("notes.tmp"), new byte[] {9});
        Files.setLastModifiedTime(foreign, FileTime.from(Instant.now().minusSeconds(3600)));
        write(dir.resolve("other.gguf"));
        assertThat(stale).doesNotExist();
        assertThat(foreign).exists();
        assertThat(mine).exists();
        assertThat(AtomicFileWriter.isTemporaryName(stale.getFileName().toString())).isTrue();
    }

    @Test
    void aRecentOrLockedTemporaryFileIsInUseAndKept() throws IOException {
        Path recent = leftover("a.q4j", 0);
        Path locked = Files.write(dir.resolve(".b.q4j.quant4j-00000000cafebabe.tmp"), new byte[] {9});
        Files.setLastModifiedTime(locked, FileTime.from(Instant.now().minusSeconds(3600)));
        try (FileChannel ch = FileChannel.open(locked, StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
            write(dir.resolve("c.q4j"));
        }
        assertThat(recent).exists();
        assertThat(locked).exists();
    }

    @Test
    void aMissingDirectoryIsNamedNotTheTemporaryFile() {
        Path target = dir.resolve("missing").resolve("m.q4j");
        assertThatThrownBy(() -> write(target)).isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(target.toString()).hasMessageContaining("the directory " + target.getParent()
                        + " does not exist").hasMessageNotContaining(".tmp");
    }

    @Test
    void aTargetThatIsADirectoryOrUnderAFileIsRefusedAndNothingIsLeft() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertThatThrownBy(() -> write(sub)).isInstanceOf(FileSystemException.class)
                .hasMessageContaining(sub + ": is a directory");
        Path file = Files.write(dir.resolve("plain"), new byte[0]);
        assertThatThrownBy(() -> write(file.resolve("m.q4j"))).isInstanceOf(NotDirectoryException.class)
                .hasMessageContaining(file + " is not a directory");
        assertThat(listing()).containsExactly("plain", "sub");
    }

    @Test
    void aReadOnlyDirectoryIsNamed() throws IOException {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(ro), "running as root: permissions do not stop writes");
            Path target = ro.resolve("m.q4j");
            assertThatThrownBy(() -> write(target)).isInstanceOf(FileSystemException.class)
                    .hasMessageContaining(target + ": cannot create a file in " + ro).hasMessageNotContaining(".tmp");
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }
}
