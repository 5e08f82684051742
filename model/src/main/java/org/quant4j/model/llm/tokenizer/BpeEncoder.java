package org.quant4j.model.llm.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Byte-level BPE tokenization of one fragment, as llama.cpp's {@code llm_tokenizer_bpe_session::tokenize}
 * ({@code src/llama-vocab.cpp}): the pre-tokenizer splits the text into words ({@code unicode_regex_split},
 * {@code src/unicode.cpp}); each word's UTF-8 bytes are spelled with GPT-2's byte map; a word that is itself a token
 * is taken whole when the pre-tokenizer ignores merges; otherwise, from one symbol per byte, the adjacent pair with
 * the lowest merge rank (leftmost on ties) is merged while any pair has a rank. A final symbol that is no token
 * becomes the tokens of its single ASCII bytes, where the vocabulary has them (other bytes are dropped, as llama.cpp
 * drops them).
 */
final class BpeEncoder {
    private final Vocabulary vocab;
    private final BpeRanks ranks;
    private final List<WordSplitter> splitters;
    private final boolean ignoreMerges;

    BpeEncoder(Vocabulary vocab, BpeRanks ranks, PreTokenizer pre) {
        this.vocab = vocab;
        this.ranks = ranks;
        this.splitters = pre.family().splitters();
        this.ignoreMerges = pre.ignoreMerges();
    }

    private record Bigram(int left, int right, String text, int rank) {}

    private static final Comparator<Bigram> ORDER =
            Comparator.comparingInt(Bigram::rank).thenComparingInt(Bigram::left);

    void encode(String text, List<Integer> out) {
        for (String word : words(text)) {
            encodeWord(ByteUnicode.encode(word.getBytes(StandardCharsets.UTF_8)), out);
        }
    }

    /** The pre-tokenizer's words of {@code text}. */
    List<String> words(String text) {
        int[] cps = text.codePoints().toArray();
        List<Integer> lengths = List.of(cps.length);
        for (WordSplitter s : splitters) {
            lengths = s.split(cps, lengths);
        }
        List<String> words = new ArrayList<>(lengths.size());
        int start = 0;
        for (int length : lengths) {
            words.add(new String(cps, start, length));
            start += length;
        }
        return words;
    }

    private void encodeWord(String word, List<Integer> out) {
        if (ignoreMerges) {
            int id = vocab.id(word);
            if (id >= 0) {
                out.add(id);
                return;
            }
        }
        SymbolChain symbols = new SymbolChain(word);
        PriorityQueue<Bigram> queue = new PriorityQueue<>(ORDER);
        for (int i = 1; i < symbols.count(); i++) {
            offer(symbols, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            if (symbols.length(b.left()) == 0 || symbols.length(b.right()) == 0
                    || !symbols.text(b.left(), b.right()).equals(b.text())) {
                continue; // outdated: one side has changed since the pair was queued
            }
            symbols.merge(b.left(), b.right());
            offer(symbols, symbols.prev(b.left()), b.left(), queue);
            offer(symbols, b.left(), symbols.next(b.left()), queue);
        }
        for (int i = 0; i < symbols.count(); i++) {
            if (symbols.length(i) == 0) {
                continue;
            }
            String piece = symbols.text(i);
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
                continue;
            }
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int single = b >= 0 ? vocab.id(String.valueOf((char) b)) : -1;
                if (single >= 0) {
                    out.add(single);
                }
            }
        }
    }

    private void offer(SymbolChain symbols, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int rank = ranks.rank(symbols.text(left), symbols.text(right));
        if (rank >= 0) {
            queue.add(new Bigram(left, right, symbols.text(left, right), rank));
        }
    }
}
