package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.quant4j.core.QuantizedModel;

/**
 * {@link ModelFileCorruptionTest}'s exhaustive damage, truncation and trailing-data checks on a file with CLAQ tensors
 * (format version 2): every byte of every CLAQ part is covered by its CRC32 and reported by tensor name.
 */
class ModelFileClaqCorruptionTest extends ModelFileCorruptionTest {
    @Override
    QuantizedModel model() {
        return TestModels.withClaq(12);
    }

    @Test
    void everyClaqPartIsABlobOfItsTensor() throws IOException {
        assertThat(blobEntries()).contains("claq/0.widths", "claq/0.codebooks", "claq/0.codes", "claq/0.ocols",
                "claq/0.orows", "claq/0.ovalues", "claq/1.widths", "claq/1.codebooks", "claq/1.codes")
                .doesNotContain("claq/1.ocols", "claq/1.orows", "claq/1.ovalues");
    }

    @Override
    @Test
    void aDamagedBlobIsNamedByTensorAndPart() throws IOException {
        for (String[] part : new String[][] {{"claq/0.codebooks", "codebooks"}, {"claq/0.orows", "outlier rows"},
                {"claq/1.widths", "widths"}}) {
            byte[] copy = bytes().clone();
            copy[blobStart(part[0])] ^= 0x10;
            Path damaged = dir.resolve("damaged.q4j");
            Files.write(damaged, copy);
            String tensor = part[0].startsWith("claq/0") ? "claq.a" : "claq.b";
            assertThatThrownBy(() -> ModelFileReader.read(damaged)).isInstanceOf(CorruptFileException.class)
                    .hasMessageStartingWith("quant4j model file " + damaged + ": tensor '" + tensor + "': the "
                            + part[1] + " (entry '" + part[0] + "') fail their CRC32 check");
        }
    }
}
