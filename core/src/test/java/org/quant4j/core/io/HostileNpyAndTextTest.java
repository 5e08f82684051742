package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.QuantizationException;

/** {@code .npy} inputs that are not what they claim, and file text made safe to print. */
class HostileNpyAndTextTest {
    @TempDir
    Path dir;

    /** A version 1.0 .npy file with this header dictionary and {@code data} bytes. */
    private Path npy(String dict, int data) throws IOException {
        String header = dict + " ".repeat((64 - (10 + dict.length() + 1) % 64) % 64) + "\n";
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) header.length(), (byte) (header.length() >> 8)});
        b.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        b.writeBytes(new byte[data]);
        return Files.write(Files.createTempFile(dir, "hostile", ".npy"), b.toByteArray());
    }

    @Test
    void aShapeWhoseProductOverflowsIsRefusedAsCorrupt() throws IOException {
        Path f = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", 16);
        assertThatThrownBy(() -> NpyFile.read(f)).isInstanceOf(QuantizationException.class)
                .hasMessageContaining(f + ": .npy shape [4294967296, 4294967296, 16] has more elements than any file");
    }

    @Test
    void aStructuredDtypeIsNamedAsSuch() throws IOException {
        Path f = npy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (4,), }", 32);
        assertThatThrownBy(() -> NpyFile.read(f)).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("a structured dtype").hasMessageNotContaining("has no 'descr'");
    }

    @Test
    void aDirectoryIsNotReadAsAnInput() {
        assertThatThrownBy(() -> NpyFile.read(dir)).isInstanceOf(FileSystemException.class)
                .hasMessage(dir + ": is a directory, not a .npy file");
        assertThatThrownBy(() -> ModelFileReader.read(dir)).isInstanceOf(FileSystemException.class)
                .hasMessage(dir + ": is a directory, not a quant4j model file");
    }

    @Test
    void controlCharactersOfAHeaderAreEscapedInTheMessage() throws IOException {
        Path f = npy("{'descr': '<U\u001b[31m', 'fortran_order': False, 'shape': (1,), }", 4);
        assertThatThrownBy(() -> NpyFile.read(f)).isInstanceOf(QuantizationException.class)
                .hasMessageContaining("<U\\x1b[31m").satisfies(e -> assertThat(e.getMessage()).doesNotContain("\u001b"));
    }

    @Test
    void printableTextEscapesControlsSeparatorsAndBidiOverridesOnly() {
        assertThat(PrintableText.escape("fc1.weight ü 重")).isEqualTo("fc1.weight ü 重");
        assertThat(PrintableText.escape("a\u001b[2Jb\nc\u0085d\u202Ee\u2028")).isEqualTo("a\\x1b[2Jb\\x0ac\\x85d\\u202ee\\u2028");
        assertThat(PrintableText.escape(null)).isNull();
    }
}
