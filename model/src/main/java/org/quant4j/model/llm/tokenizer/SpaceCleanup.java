package org.quant4j.model.llm.tokenizer;

import java.util.Arrays;

/**
 * The {@code clean_up_tokenization_spaces} passes of llama.cpp's {@code llama_vocab::impl::detokenize}
 * ({@code src/llama-vocab.cpp}), on the decoded bytes, in place and in this order: drop a space before {@code ?},
 * {@code !}, {@code .} or {@code ,}; turn {@code " ' "} into {@code "'"}; drop a space before {@code 's}, {@code 'm},
 * {@code 're} and {@code 've} (but not before {@code 't}, {@code 'd} or {@code 'll}).
 */
final class SpaceCleanup {
    private SpaceCleanup() {}

    static byte[] apply(byte[] input) {
        byte[] t = input.clone();
        int total = beforePunctuation(t, t.length);
        total = apostropheBetweenSpaces(t, total);
        total = contractions(t, total);
        return Arrays.copyOf(t, total);
    }

    private static int beforePunctuation(byte[] t, int n) {
        int total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) {
                total--;
            }
            t[total++] = x;
        }
        return total;
    }

    private static int apostropheBetweenSpaces(byte[] t, int n) {
        int total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
                total--;      // the space before
                t[++i] = 0;   // and the one after, which is skipped (and reads as NUL to the next position)
            }
            t[total++] = x;
        }
        return total;
    }

    private static int contractions(byte[] t, int n) {
        int total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
                byte x1 = t[i + 1];
                if (x1 == 's' || x1 == 'm') {
                    total--;
                } else if (i + 2 < n && x1 != 't' && x1 != 'd') {
                    byte x2 = t[i + 2];
                    if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) {
                        total--;
                    }
                }
            }
            t[total++] = x;
        }
        return total;
    }
}
