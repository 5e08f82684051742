package org.quant4j.model.llm.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * SentencePiece-style tokenization of one fragment whose spaces are already {@code ▁}, as llama.cpp's
 * {@code llm_tokenizer_spm_session::tokenize} ({@code src/llama-vocab.cpp}): start from one symbol per code point,
 * repeatedly merge the adjacent pair whose joined text is the token with the highest score (leftmost on ties), and
 * emit each final symbol as its token, or, when it is none, as its UTF-8 bytes in byte tokens ({@code <0xXX>}).
 * (llama.cpp's {@code resegment} also splits an unknown symbol back into the pair it was merged from; every merged
 * symbol is a token, so here only single code points can be unknown.)
 */
final class SpmEncoder {
    private final Vocabulary vocab;
    private final String vocabName;
    /** The token of each byte value (llama.cpp's {@code byte_to_token}), or -1 when the vocabulary has none. */
    private final int[] byteTokens = new int[256];

    SpmEncoder(Vocabulary vocab, String vocabName) {
        this.vocab = vocab;
        this.vocabName = vocabName;
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format("<0x%02X>", b));
            byteTokens[b] = id >= 0 || b >= 0x80 ? id : vocab.id(String.valueOf((char) b));
        }
    }

    private record Bigram(int left, int right, float score, int size) {}

    private static final Comparator<Bigram> ORDER =
            Comparator.comparingDouble((Bigram b) -> -b.score()).thenComparingInt(Bigram::left);

    void encode(String text, List<Integer> out) {
        SymbolChain symbols = new SymbolChain(text);
        if (symbols.count() == 0) {
            return;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(ORDER);
        for (int i = 1; i < symbols.count(); i++) {
            offer(symbols, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int l = symbols.length(b.left());
            int r = symbols.length(b.right());
            if (l == 0 || r == 0 || l + r != b.size()) {
                continue; // one side has changed since the pair was queued
            }
            symbols.merge(b.left(), b.right());
            offer(symbols, symbols.prev(b.left()), b.left(), queue);
            offer(symbols, b.left(), symbols.next(b.left()), queue);
        }
        for (int i = 0; i != -1; i = symbols.next(i)) {
            String piece = symbols.text(i);
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                    out.add(byteToken(b & 0xFF));
                }
            }
        }
    }

    private void offer(SymbolChain symbols, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        String text = symbols.text(left, right);
        int id = vocab.id(text);
        if (id >= 0) {
            queue.add(new Bigram(left, right, vocab.score(id), text.length()));
        }
    }

    /** llama.cpp's {@code llama_vocab::byte_to_token} for SentencePiece: {@code <0xXX>}, else the byte itself. */
    private int byteToken(int b) {
        int id = byteTokens[b];
        if (id < 0) {
            throw new UnsupportedTokenizerException(vocabName + ": the vocabulary has no token for the byte 0x"
                    + String.format("%02X", b) + " (neither <0x" + String.format("%02X", b) + "> nor the byte itself),"
                    + " so it cannot spell this text");
        }
        return id;
    }
}
