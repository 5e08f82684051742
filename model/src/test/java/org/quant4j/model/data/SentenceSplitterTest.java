package org.quant4j.model.data;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SentenceSplitterTest {
    @Test
    void splitsAtSentenceEndsFollowedByACapitalOrDigit() {
        assertThat(SentenceSplitter.split("We met. It rained!  Did it?\nYes. 1990 was dry."))
                .containsExactly("We met.", "It rained!", "Did it?", "Yes.", "1990 was dry.");
    }

    @Test
    void keepsAbbreviationsInitialsAndDecimalsInside() {
        assertThat(SentenceSplitter.split("Mr. Smith met Gen. Grant in the U.S. Army on Jan. 5. Then H. G. Wells spoke."))
                .containsExactly("Mr. Smith met Gen. Grant in the U.S. Army on Jan. 5.", "Then H. G. Wells spoke.");
        assertThat(SentenceSplitter.split("It cost $3.50 in total. the end")).containsExactly("It cost $3.50 in total. the end");
    }

    @Test
    void closingQuotesStayWithTheirSentence() {
        assertThat(SentenceSplitter.split("He said \"stop.\" Then he left. (It was late.) We stayed."))
                .containsExactly("He said \"stop.\"", "Then he left.", "(It was late.)", "We stayed.");
    }

    @Test
    void emptyAndWhitespaceTextGiveNoSentences() {
        assertThat(SentenceSplitter.split(" \n\t ")).isEmpty();
    }
}
