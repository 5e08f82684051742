package org.quant4j.core.io;

import java.nio.file.Path;

/**
 * Makes the {@link CorruptFileException}s of one file: each message names the file, then the tensor concerned, with
 * the control characters of names and values from the file escaped ({@link PrintableText}).
 */
record FileErrors(Path file) {
    CorruptFileException corrupt(String problem) {
        return new CorruptFileException(PrintableText.escape(prefix() + problem));
    }

    CorruptFileException corrupt(String problem, Throwable cause) {
        return new CorruptFileException(PrintableText.escape(prefix() + problem), cause);
    }

    CorruptFileException corruptTensor(String tensor, String problem) {
        return new CorruptFileException(PrintableText.escape(prefix() + "tensor '" + tensor + "': " + problem));
    }

    private String prefix() {
        return "quant4j model file " + file + ": ";
    }
}
