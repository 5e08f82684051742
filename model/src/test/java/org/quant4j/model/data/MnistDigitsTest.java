package org.quant4j.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.core.io.CorruptFileException;

class MnistDigitsTest {
    private static final MnistDigits DIGITS = MnistDigits.load();

    @Test
    void splitsTenThousandDigitsIntoEightAndTwoThousand() {
        assertThat(DIGITS.train().size()).isEqualTo(8_000);
        assertThat(DIGITS.test().size()).isEqualTo(2_000);
        assertThat(DIGITS.train().pixels()).hasSize(8_000 * 784);
        assertThat(DIGITS.test().features().shape()).containsExactly(2_000, 784);
        assertThat(DIGITS.test().oneHotLabels().shape()).containsExactly(2_000, 10);
    }

    @Test
    void everyClassAppearsInBothPartsWithItsPackageCount() {
        int[] perClassInPackage = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
        int[] train = histogram(DIGITS.train().labels());
        int[] test = histogram(DIGITS.test().labels());
        for (int d = 0; d < 10; d++) {
            assertThat(train[d] + test[d]).as("digit %d", d).isEqualTo(perClassInPackage[d]);
            assertThat(test[d]).as("digit %d in test", d).isBetween(130, 270);
        }
    }

    @Test
    void pixelsAreInZeroToOneAndImagesAreNotBlank() {
        float[] p = DIGITS.test().pixels();
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float v : p) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertThat(min).isEqualTo(0f);
        assertThat(max).isEqualTo(1f);
        for (int i = 0; i < DIGITS.test().size(); i++) {
            double ink = 0;
            for (int j = 0; j < 784; j++) {
                ink += p[i * 784 + j];
            }
            assertThat(ink).as("ink of test image %d", i).isGreaterThan(10);
        }
    }

    @Test
    void trainAndTestShareNoImage() {
        Set<Integer> trainHashes = new HashSet<>();
        float[] train = DIGITS.train().pixels();
        for (int i = 0; i < DIGITS.train().size(); i++) {
            trainHashes.add(Arrays.hashCode(Arrays.copyOfRange(train, i * 784, (i + 1) * 784)));
        }
        float[] test = DIGITS.test().pixels();
        int shared = 0;
        for (int i = 0; i < DIGITS.test().size(); i++) {
            if (trainHashes.contains(Arrays.hashCode(Arrays.copyOfRange(test, i * 784, (i + 1) * 784)))) {
                shared++;
            }
        }
        assertThat(shared).isZero();
    }

    /** The split is pinned: values computed independently (java.util.Random's LCG replayed in Python). */
    @Test
    void theSplitIsPinnedBySplitSeed() {
        assertThat(Arrays.copyOf(Permutation.of(10_000, MnistDigits.SPLIT_SEED), 5))
                .containsExactly(6330, 7393, 4269, 6778, 4655);
        assertThat(Arrays.copyOf(DIGITS.test().labels(), 20))
                .containsExactly(6, 3, 4, 8, 0, 8, 8, 2, 1, 3, 0, 3, 7, 8, 1, 1, 5, 8, 4, 1);
    }

    @Test
    void evaluationIteratorCoversTheTestSetInOrder() {
        DataSetIterator it = DIGITS.test().iterator(300);
        int seen = 0;
        int[] labels = DIGITS.test().labels();
        while (it.hasNext()) {
            DataSet b = it.next();
            for (int i = 0; i < b.numExamples(); i++) {
                assertThat(b.getLabels().getRow(i).argMax().getInt(0)).isEqualTo(labels[seen + i]);
            }
            seen += b.numExamples();
        }
        assertThat(seen).isEqualTo(2_000);
    }

    @Test
    void shuffledIteratorVisitsEveryExampleOncePerEpochInANewOrder() {
        DataSetIterator it = DIGITS.test().shuffledIterator(64, 5);
        int[] first = epochLabelSequence(it);
        it.reset();
        int[] second = epochLabelSequence(it);
        assertThat(histogram(first)).isEqualTo(histogram(DIGITS.test().labels()));
        assertThat(histogram(second)).isEqualTo(histogram(DIGITS.test().labels()));
        assertThat(first).isNotEqualTo(second);
        assertThat(epochLabelSequence(DIGITS.test().shuffledIterator(64, 5))).isEqualTo(first);
    }

    @Test
    void missingCacheNamesThePathAndTheFetchCommand(@TempDir Path dir) {
        assertThatThrownBy(() -> MnistDigits.load(dir.resolve("nowhere")))
                .isInstanceOf(MissingDataException.class)
                .hasMessageContaining(dir.resolve("nowhere").resolve("0.json").toString())
                .hasMessageContaining("scripts/fetch-data.sh");
    }

    @Test
    void truncatedFileIsReportedAsCorrupt(@TempDir Path dir) throws IOException {
        for (int d = 0; d < 10; d++) {
            Files.writeString(dir.resolve(d + ".json"), "{\"data\": [0, 0.5, 1");
        }
        assertThatThrownBy(() -> MnistDigits.load(dir))
                .isInstanceOf(CorruptFileException.class)
                .hasMessageContaining(dir.resolve("0.json").toString());
    }

    @Test
    void outOfRangePixelIsReportedWithItsPosition(@TempDir Path dir) throws IOException {
        String image = "0," .repeat(783);
        for (int d = 0; d < 10; d++) {
            Files.writeString(dir.resolve(d + ".json"), "{\"data\": [" + image + (d == 3 ? "255" : "1") + "]}");
        }
        assertThatThrownBy(() -> MnistDigits.load(dir))
                .isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("3.json").hasMessageContaining("value 783 is 255");
    }

    @Test
    void wrongImageCountIsReported(@TempDir Path dir) throws IOException {
        String image = "0," .repeat(783) + "1";
        for (int d = 0; d < 10; d++) {
            Files.writeString(dir.resolve(d + ".json"), "{\"data\": [" + image + "]}");
        }
        assertThatThrownBy(() -> MnistDigits.load(dir))
                .isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("hold 10 images, expected 10000");
    }

    private static int[] epochLabelSequence(DataSetIterator it) {
        int[] out = new int[2_000];
        int n = 0;
        while (it.hasNext()) {
            DataSet b = it.next();
            int[] argmax = b.getLabels().argMax(1).toIntVector();
            System.arraycopy(argmax, 0, out, n, argmax.length);
            n += argmax.length;
        }
        assertThat(n).isEqualTo(2_000);
        return out;
    }

    private static int[] histogram(int[] labels) {
        int[] h = new int[10];
        for (int l : labels) {
            h[l]++;
        }
        return h;
    }
}
