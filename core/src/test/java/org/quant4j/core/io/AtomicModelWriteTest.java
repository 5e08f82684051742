package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;

/** A failed write leaves neither a partial target nor a temporary file, and an existing target as it was. */
class AtomicModelWriteTest {
    @TempDir
    Path dir;

    /** Throws like a full disk once {@code limit} bytes have gone through. */
    private static final class FailingStream extends FilterOutputStream {
        private long left;

        FailingStream(OutputStream out, long limit) {
            super(out);
            this.left = limit;
        }

        @Override
        public void write(int b) throws IOException {
            if (left-- <= 0) throw new IOException("No space left on device (injected)");
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            for (int i = 0; i < len; i++) write(b[off + i]);
        }
    }

    @Test
    void aWriteFailingAtAnyPointLeavesNoFileBehind() throws IOException {
        Path target = dir.resolve("model.q4j");
        QuantizedModel model = TestModels.small(1);
        long size = sizeOf(model);
        for (long limit : new long[] {0, 1, 100, size / 2, size - 9, size - 1}) {
            assertThatThrownBy(() -> ModelFileWriter.write(target, model, out -> new FailingStream(out, limit)))
                    .isInstanceOf(IOException.class).hasMessageContaining("injected");
            assertThat(listDir()).as("after a failure at byte %d", limit).isEmpty();
        }
    }

    @Test
    void aFailedWriteLeavesAnExistingTargetUntouched() throws IOException {
        Path target = dir.resolve("model.q4j");
        ModelFileWriter.write(target, TestModels.small(1));
        byte[] before = Files.readAllBytes(target);
        QuantizedModel other = TestModels.small(2);
        long half = sizeOf(other) / 2;
        assertThatThrownBy(() -> ModelFileWriter.write(target, other, out -> new FailingStream(out, half)))
                .isInstanceOf(IOException.class);
        assertThat(Files.readAllBytes(target)).isEqualTo(before);
        assertThat(listDir()).containsExactly(target);
    }

    @Test
    void aTensorThatCannotBeStoredFailsTheWriteAndLeavesTheTargetUntouched() throws IOException {
        Path target = dir.resolve("model.q4j");
        ModelFileWriter.write(target, TestModels.small(1));
        byte[] before = Files.readAllBytes(target);
        Random r = new Random(5);
        QuantSpec g4 = QuantSpec.integer(4, true, Granularity.perGroup(4));
        QuantizedTensor good = TestModels.tensor(r, g4, 1f, 2, 8);
        List<QuantizedTensor> bad = List.of(
                // FP32 scales under a spec that says FP16
                new QuantizedTensor(g4, good.shape(), good.codes(),
                        EncodedArray.encode(NumberEncoding.FP32, 0, new float[] {0.1f, 0.2f, 0.3f, 0.4f}), null, 1f),
                new QuantizedTensor(g4, good.shape(), good.codes(), good.scales(), null, Float.NaN),
                // a row of 6 columns in groups of 4: QuantizedTensor accepts 1 block per row, the file does not
                new QuantizedTensor(g4, new long[] {2, 6}, new byte[6],
                        EncodedArray.encode(NumberEncoding.FP16, 0, new float[] {1f, 1f}), null, 1f));
        List<String> problems = List.of("scales are stored as FP32 but the spec says FP16", "global scale NaN is not finite",
                "group size 4 does not divide the row width 6");
        for (int i = 0; i < bad.size(); i++) {
            QuantizedModel model = QuantizedModel.builder().addQuantized("ok", good).addQuantized("broken", bad.get(i)).build();
            assertThatThrownBy(() -> ModelFileWriter.write(target, model)).isInstanceOf(InvalidTensorException.class)
                    .hasMessageContaining("cannot write " + target + ": tensor 'broken': " + problems.get(i));
            assertThat(Files.readAllBytes(target)).isEqualTo(before);
            assertThat(listDir()).containsExactly(target);
        }
    }

    @Test
    void aSuccessfulWriteReplacesTheTargetAndLeavesNoTemporaryFile() throws IOException {
        Path target = dir.resolve("model.q4j");
        ModelFileWriter.write(target, TestModels.small(1));
        ModelFileWriter.write(target, TestModels.small(2));
        assertThat(ModelFileReader.read(target)).isEqualTo(TestModels.small(2));
        assertThat(listDir()).containsExactly(target);
    }

    @Test
    void aMissingDirectoryIsAnIoErrorAndCreatesNothing() {
        Path target = dir.resolve("absent").resolve("model.q4j");
        assertThatThrownBy(() -> ModelFileWriter.write(target, TestModels.small(1))).isInstanceOf(IOException.class);
        assertThat(Files.exists(target.getParent())).isFalse();
    }

    @Test
    void aRelativeTargetIsWrittenBesideItself() throws IOException {
        Path relative = Path.of("").toAbsolutePath().relativize(dir.resolve("relative.q4j"));
        ModelFileWriter.write(relative, TestModels.small(1));
        assertThat(listDir()).containsExactly(dir.resolve("relative.q4j"));
    }

    private long sizeOf(QuantizedModel model) throws IOException {
        Path probe = Files.createTempDirectory(dir.getParent(), "probe");
        Path file = probe.resolve("probe.q4j");
        ModelFileWriter.write(file, model);
        long size = Files.size(file);
        Files.delete(file);
        Files.delete(probe);
        return size;
    }

    private List<Path> listDir() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        }
    }
}
