package org.quant4j.core.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * Public entry to {@link AtomicFileWriter} for the writers of other file formats (GGUF): the file is
 * written all or nothing, and an existing target stays as it was when anything fails.
 */
public final class AtomicFiles {
    /** What goes into the file. */
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFiles() {}

    public static void write(Path target, Content content) throws IOException {
        write(target, UnaryOperator.identity(), content);
    }

    /** @param streamDecorator wraps the file's stream (identity in production; tests inject failures here) */
    public static void write(Path target, UnaryOperator<OutputStream> streamDecorator, Content content)
            throws IOException {
        AtomicFileWriter.write(target, streamDecorator, content::writeTo);
    }
}
