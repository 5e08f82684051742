package org.quant4j.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.quant4j.core.io.CorruptFileException;

/** The State of the Union corpus the build caches, and its seeded calibration/evaluation split. */
class SotuCorpusTest {
    private static final SotuCorpus CORPUS = SotuCorpus.load();

    @Test
    void allAddressesInChronologicalOrder() {
        List<SotuCorpus.Address> addresses = CORPUS.addresses();
        assertThat(addresses).hasSize(SotuCorpus.ADDRESSES);
        assertThat(addresses.get(0).year()).isEqualTo(1790);
        assertThat(addresses.get(0).president()).isEqualTo("george washington");
        assertThat(addresses.get(0).sentences().get(0))
                .startsWith("Fellow-Citizens of the Senate and House of Representatives:");
        assertThat(addresses.get(addresses.size() - 1).fileName()).isEqualTo("2021_joseph_r_biden_d.txt");
        int sentences = addresses.stream().mapToInt(a -> a.sentences().size()).sum();
        assertThat(sentences).isGreaterThan(50_000);
    }

    @ParameterizedTest
    @EnumSource(SotuCorpus.Unit.class)
    void defaultSplitsAreDisjointSizedAndReproducible(SotuCorpus.Unit unit) {
        SotuCorpus.Split split = CORPUS.split(SotuCorpus.DEFAULT_SEED, unit, unit.defaultCount(),
                SotuCorpus.DEFAULT_EVALUATION_SENTENCES);
        assertThat(split.unit()).isEqualTo(unit);
        assertThat(split.calibration()).hasSize(unit.defaultCount()).doesNotHaveDuplicates();
        assertThat(split.evaluation()).hasSize(1_000).doesNotHaveDuplicates();
        assertThat(split.calibrationAddresses()).hasSize(unit.defaultCount() / unit.perAddress());
        for (String text : split.calibration()) {
            if (unit == SotuCorpus.Unit.PASSAGE) {
                assertThat(SotuCorpus.words(text)).isGreaterThanOrEqualTo(SotuCorpus.PASSAGE_WORDS);
            } else {
                assertThat(SotuCorpus.words(text))
                        .isBetween(SotuCorpus.MIN_SENTENCE_WORDS, SotuCorpus.MAX_SENTENCE_WORDS);
            }
        }
        for (String sentence : split.evaluation()) {
            assertThat(SotuCorpus.words(sentence)).isBetween(SotuCorpus.MIN_SENTENCE_WORDS, SotuCorpus.MAX_SENTENCE_WORDS);
        }
        // No evaluation sentence appears in any calibration address, let alone in a calibration sequence.
        Set<String> calibrationText = new HashSet<>();
        for (SotuCorpus.Address a : CORPUS.addresses()) {
            if (split.calibrationAddresses().contains(a.fileName())) {
                calibrationText.addAll(a.sentences());
            }
        }
        assertThat(split.evaluation()).noneMatch(calibrationText::contains);
        for (String text : split.calibration()) {
            assertThat(split.evaluation()).noneMatch(text::contains);
        }
        assertThat(CORPUS.split(SotuCorpus.DEFAULT_SEED, unit, unit.defaultCount(), 1_000)).isEqualTo(split);
        assertThat(CORPUS.split(7, unit, unit.defaultCount(), 1_000)).isNotEqualTo(split);
    }

    @Test
    void defaultSplitCalibratesOnSentencesWithTheSameEvaluationSetAsPassages() {
        SotuCorpus.Split sentences = CORPUS.split();
        SotuCorpus.Split passages = CORPUS.split(SotuCorpus.DEFAULT_SEED, SotuCorpus.DEFAULT_CALIBRATION_PASSAGES,
                SotuCorpus.DEFAULT_EVALUATION_SENTENCES);
        assertThat(sentences.unit()).isEqualTo(SotuCorpus.Unit.SENTENCE);
        assertThat(sentences.calibration()).hasSize(SotuCorpus.DEFAULT_CALIBRATION_SENTENCES);
        assertThat(passages.unit()).isEqualTo(SotuCorpus.Unit.PASSAGE);
        assertThat(sentences.calibrationAddresses()).isEqualTo(passages.calibrationAddresses());
        assertThat(sentences.evaluation()).isEqualTo(passages.evaluation());
        assertThat(sentences.calibrationDescription())
                .isEqualTo("512 sentences of 6-50 words from 32 State of the Union addresses");
        assertThat(passages.calibrationDescription())
                .isEqualTo("128 passages of >= 90 words from 32 State of the Union addresses");
    }

    @Test
    void largerEvaluationSetsAreAvailable() {
        assertThat(CORPUS.split(SotuCorpus.DEFAULT_SEED, 16, 5_000).evaluation()).hasSize(5_000);
        assertThatThrownBy(() -> CORPUS.split(1, 128, 10_000_000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("10000000");
    }

    @Test
    void missingOrBadDataIsReported(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> SotuCorpus.load(dir.resolve("absent"))).isInstanceOf(MissingDataException.class)
                .hasMessageContaining("scripts/fetch-sotu.sh");
        for (int i = 0; i < SotuCorpus.ADDRESSES; i++) {
            Files.writeString(dir.resolve(String.format("%04d_someone_d.txt", 1800 + i)), "A sentence. Another one.");
        }
        Files.write(dir.resolve("1800_someone_d.txt"), new byte[]{'A', (byte) 0xC3, (byte) 0x28});
        assertThatThrownBy(() -> SotuCorpus.load(dir)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("1800_someone_d.txt: not UTF-8");
    }
}
