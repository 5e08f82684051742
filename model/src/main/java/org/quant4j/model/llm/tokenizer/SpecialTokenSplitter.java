package org.quant4j.model.llm.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Finds special tokens in a text before it is tokenized, as llama.cpp's {@code tokenizer_st_partition}
 * ({@code src/llama-vocab.cpp}): the control, user-defined and unknown tokens, longest text first (in UTF-8 bytes;
 * equally long ones by id), each cut out of every raw fragment wherever it occurs, left to right. Without
 * {@code parseSpecial}, control and unknown tokens stay text, but user-defined tokens are still matched (as
 * Hugging Face tokenizers do with added tokens). A token with {@link TokenAttributes#LSTRIP} / {@link TokenAttributes#RSTRIP}
 * drops the ASCII whitespace before / after it.
 */
final class SpecialTokenSplitter {
    private final Vocabulary vocab;
    private final int[] specials;

    SpecialTokenSplitter(Vocabulary vocab) {
        this.vocab = vocab;
        int mask = TokenAttributes.CONTROL | TokenAttributes.USER_DEFINED | TokenAttributes.UNKNOWN;
        int[] utf8Length = new int[vocab.size()];
        this.specials = IntStream.range(0, vocab.size())
                .filter(id -> vocab.hasAttribute(id, mask))
                .peek(id -> utf8Length[id] = vocab.text(id).getBytes(StandardCharsets.UTF_8).length)
                .boxed()
                .sorted(Comparator.<Integer>comparingInt(id -> -utf8Length[id]).thenComparingInt(id -> id))
                .mapToInt(Integer::intValue)
                .toArray();
    }

    /** The ids matched in text, in the order they are tried. */
    int[] specials() {
        return specials.clone();
    }

    /** {@code text} as raw fragments and matched special tokens, in order; empty for an empty text. */
    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(Fragment.raw(text));
        int skipped = parseSpecial ? 0 : TokenAttributes.CONTROL | TokenAttributes.UNKNOWN;
        for (int id : specials) {
            int attributes = vocab.attributes(id);
            if ((attributes & skipped) != 0) {
                continue;
            }
            fragments = cut(fragments, id, vocab.text(id), attributes);
        }
        return fragments;
    }

    private static List<Fragment> cut(List<Fragment> fragments, int id, String token, int attributes) {
        List<Fragment> out = new ArrayList<>(fragments.size() + 2);
        for (Fragment f : fragments) {
            if (f.isToken() || !f.text().contains(token)) {
                out.add(f);
                continue;
            }
            String text = f.text();
            int start = 0;
            int match;
            while ((match = text.indexOf(token, start)) >= 0) {
                int leftEnd = match;
                if ((attributes & TokenAttributes.LSTRIP) != 0) {
                    while (leftEnd > start && isCSpace(text.charAt(leftEnd - 1))) {
                        leftEnd--;
                    }
                }
                if (leftEnd > start) {
                    out.add(Fragment.raw(text.substring(start, leftEnd)));
                }
                out.add(Fragment.token(id));
                start = match + token.length();
                if ((attributes & TokenAttributes.RSTRIP) != 0) {
                    while (start < text.length() && isCSpace(text.charAt(start))) {
                        start++;
                    }
                }
            }
            if (start < text.length()) {
                out.add(Fragment.raw(text.substring(start)));
            }
        }
        return out;
    }

    /** C's {@code isspace} in the C locale, which llama.cpp uses for stripping. */
    private static boolean isCSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
