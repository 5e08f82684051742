package org.quant4j.eval.decoder;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The degeneration measures on hand-made token sequences. */
class DegenerationTest {
    @Test
    void aSequenceEndingInACycleIsALoopAndOneWithoutIsNot() {
        int[] loop = new int[64];
        for (int i = 0; i < 64; i++) {
            loop[i] = i < 40 ? i : 100 + (i % 3); // 24 tokens of period 3 at the end: more than a quarter
        }
        assertThat(Degeneration.endsInLoop(loop)).isTrue();
        int[] fresh = new int[64];
        for (int i = 0; i < 64; i++) {
            fresh[i] = i;
        }
        assertThat(Degeneration.endsInLoop(fresh)).isFalse();
        int[] shortCycle = fresh.clone();
        for (int i = 56; i < 64; i++) {
            shortCycle[i] = 7; // 8 repeats: an eighth, not a quarter
        }
        assertThat(Degeneration.endsInLoop(shortCycle)).isFalse();
    }

    @Test
    void repeatedNgramShareCountsNgramsSeenBefore() {
        assertThat(Degeneration.repeatedNgramShare(new int[]{1, 2, 3, 4, 5, 6}, 4)).isZero();
        // 1 2 3 4 1 2 3 4: 4-grams 1234 2341 3412 4123 1234 -> one of five repeated
        assertThat(Degeneration.repeatedNgramShare(new int[]{1, 2, 3, 4, 1, 2, 3, 4}, 4)).isEqualTo(0.2);
        assertThat(Degeneration.repeatedNgramShare(new int[]{5, 5, 5, 5, 5, 5}, 4)).isEqualTo(2.0 / 3);
    }
}
