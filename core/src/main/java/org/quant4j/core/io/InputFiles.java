package org.quant4j.core.io;

import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Checks shared by the readers before they open an input. */
public final class InputFiles {
    private InputFiles() {}

    /**
     * @param kind what the file should be, e.g. {@code "a .npy file"}
     * @throws FileSystemException naming the path when it is a directory (which would otherwise fail later with a
     *                             message that names neither the path nor the problem)
     */
    public static void requireNotDirectory(Path file, String kind) throws FileSystemException {
        if (Files.isDirectory(file)) {
            throw new FileSystemException(file.toString(), null, "is a directory, not " + kind);
        }
    }
}
