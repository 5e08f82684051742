package org.quant4j.model.bert;

import java.util.List;

/** Varied English sentences for the model tests: punctuation, numbers, accents, CJK, an emoji, one too long. */
final class TestSentences {
    static final String OVER_LONG = String.join(" ", List.of(
            "The committee, having reviewed 1,284 submissions from 37 countries between March and November,",
            "concluded that the proposed standard for low-precision arithmetic—covering 8-bit, 6-bit and 4-bit",
            "floating-point formats with shared block scales—would reduce memory traffic by a factor of four",
            "to eight on typical transformer workloads, although several reviewers warned that accumulation",
            "errors, outliers in activation channels, and the cost of dequantization on older hardware could",
            "erode much of the expected benefit unless kernels were rewritten, calibration data were chosen",
            "with care, and the evaluation protocol measured not only perplexity but also downstream accuracy",
            "on retrieval, classification and generation tasks across many languages and domains."));

    static final List<String> ALL = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Hello, world! How are you today?",
            "In 1776, the Declaration of Independence was signed; 56 delegates signed it.",
            "Café au lait costs €3.50 at the crème brûlée stand in Zürich.",
            "She said: \"Don't worry — it's only a 2-hour flight (maybe 3).\"",
            "Quantization maps a 32-bit float to 4 bits with little loss of accuracy.",
            "E-mail me at someone@example.com or visit https://example.org/page?id=42.",
            "Naïve Bayes classifiers aren't naïve at all, said the Señor.",
            "The meeting is scheduled for 10:30 a.m. on Jan. 5th, 2024.",
            "北京 is the capital of China, and Tokyo is the capital of Japan.",
            "Great job 🙂!!! See you at 7pm.",
            OVER_LONG);

    private TestSentences() {
    }
}
