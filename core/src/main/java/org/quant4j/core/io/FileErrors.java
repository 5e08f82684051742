package org.quant4j.core.io;

import java.nio.file.Path;

/** Makes the {@link CorruptFileException}s of one file: each message names the file, then the tensor concerned. */
record FileErrors(Path file) {
    CorruptFileException corrupt(String problem) {
        return new CorruptFileException(prefix() + problem);
    }

    CorruptFileException corrupt(String problem, Throwable cause) {
        return new CorruptFileException(prefix() + problem, cause);
    }

    CorruptFileException corruptTensor(String tensor, String problem) {
        return new CorruptFileException(prefix() + "tensor '" + tensor + "': " + problem);
    }

    private String prefix() {
        return "quant4j model file " + file + ": ";
    }
}
