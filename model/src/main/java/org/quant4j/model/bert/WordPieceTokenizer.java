package org.quant4j.model.bert;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.quant4j.core.io.CorruptFileException;

/**
 * A BERT WordPiece tokenizer configured by a Hugging Face {@code tokenizer.json}: added (special)
 * tokens matched in the raw text, {@link BertNormalizer}, {@link BertPreTokenizer}, WordPiece (greedy
 * longest-match-first over each word, continuation pieces prefixed with {@code ##}; a word longer than
 * {@code max_input_chars_per_word} characters or with an unmatched remainder becomes {@code [UNK]} as a
 * whole — Wu et al. 2016, §4.1, and BERT's {@code WordpieceTokenizer}), then truncation of the content
 * to the configured length minus the special tokens, the post-processor's template (for a single
 * sequence {@code [CLS] A [SEP]}, type ids from the template) and padding.
 *
 * <p>Truncation and padding start as the file configures them (for all-MiniLM-L6-v2: truncate to 128,
 * pad to a fixed 128) and can be changed with {@link #withTruncation}, {@link #withoutTruncation} and
 * {@link #withPadding} (e.g. {@link Padding#batchLongest()}, much faster on short sentences; it does not
 * change the embeddings of the tokens under the mask). Immutable and thread-safe.
 */
public final class WordPieceTokenizer {
    private final String source;
    private final Map<String, Integer> vocab;
    private final String[] tokens;
    private final int unkId;
    private final String continuationPrefix;
    private final int maxCharsPerWord;
    private final BertNormalizer normalizer;
    /** Added tokens, longest content first (so the longest match wins at a position). */
    private final List<AddedToken> addedTokens;
    private final List<TemplatePiece> template;
    private final int maxLength;
    private final Padding padding;
    private final int padId;
    private final int padTypeId;

    WordPieceTokenizer(String source, Map<String, Integer> vocab, String[] tokens, int unkId, String continuationPrefix,
                       int maxCharsPerWord, BertNormalizer normalizer, List<AddedToken> addedTokens,
                       List<TemplatePiece> template, int maxLength, Padding padding, int padId, int padTypeId) {
        this.source = source;
        this.vocab = vocab;
        this.tokens = tokens;
        this.unkId = unkId;
        this.continuationPrefix = continuationPrefix;
        this.maxCharsPerWord = maxCharsPerWord;
        this.normalizer = normalizer;
        List<AddedToken> sorted = new ArrayList<>(addedTokens);
        sorted.sort((a, b) -> Integer.compare(b.content().length(), a.content().length()));
        this.addedTokens = List.copyOf(sorted);
        this.template = List.copyOf(template);
        this.maxLength = maxLength;
        this.padding = padding;
        this.padId = padId;
        this.padTypeId = padTypeId;
        int specials = specialTokenCount();
        if (maxLength > 0 && maxLength <= specials) {
            throw new IllegalArgumentException(source + ": truncation length " + maxLength
                    + " leaves no room beside the " + specials + " special tokens");
        }
    }

    /**
     * Reads a Hugging Face {@code tokenizer.json}.
     *
     * @throws UnsupportedModelException if a component is not the BERT WordPiece pipeline (it is named)
     * @throws CorruptFileException      if the file is not valid JSON or lacks a required field
     */
    public static WordPieceTokenizer read(InputStream json, String source) {
        return TokenizerJson.parse(json, source);
    }

    /** Reads a {@code tokenizer.json} file; see {@link #read(InputStream, String)}. */
    public static WordPieceTokenizer read(Path json) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(json))) {
            return read(in, json.toString());
        } catch (NoSuchFileException e) {
            throw new CorruptFileException(json + ": no such tokenizer file");
        } catch (IOException e) {
            throw new CorruptFileException(json + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The same tokenizer padding as told. */
    public WordPieceTokenizer withPadding(Padding newPadding) {
        return new WordPieceTokenizer(source, vocab, tokens, unkId, continuationPrefix, maxCharsPerWord, normalizer,
                addedTokens, template, maxLength, newPadding, padId, padTypeId);
    }

    /** The same tokenizer truncating every sequence (special tokens included) to {@code length} tokens. */
    public WordPieceTokenizer withTruncation(int length) {
        if (length < 1) {
            throw new IllegalArgumentException("truncation length must be >= 1, got " + length);
        }
        return new WordPieceTokenizer(source, vocab, tokens, unkId, continuationPrefix, maxCharsPerWord, normalizer,
                addedTokens, template, length, padding, padId, padTypeId);
    }

    /** The same tokenizer without truncation (the encoder then rejects sequences longer than its positions). */
    public WordPieceTokenizer withoutTruncation() {
        return new WordPieceTokenizer(source, vocab, tokens, unkId, continuationPrefix, maxCharsPerWord, normalizer,
                addedTokens, template, 0, padding, padId, padTypeId);
    }

    public String source() {
        return source;
    }

    public int vocabSize() {
        return tokens.length;
    }

    /** The truncation length (special tokens included), 0 when not truncating. */
    public int maxLength() {
        return maxLength;
    }

    public Padding padding() {
        return padding;
    }

    /** The id of a vocabulary entry. */
    public OptionalInt tokenId(String token) {
        Integer id = vocab.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The vocabulary entry of {@code id}. */
    public String token(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new ModelInputException("token id " + id + " is outside " + source + "'s " + tokens.length + " tokens");
        }
        return tokens[id];
    }

    /** The word pieces of {@code text}, without special tokens and without truncation. */
    public List<String> tokenize(String text) {
        List<String> pieces = new ArrayList<>();
        for (int id : contentIds(text)) {
            pieces.add(tokens[id]);
        }
        return pieces;
    }

    /** The ids of {@code text}: content truncated as configured, wrapped in the template's special tokens. */
    public int[] encode(String text) {
        return assemble(contentIds(text))[0];
    }

    /**
     * Encodes and pads a batch.
     *
     * @throws ModelInputException if {@code texts} is empty
     */
    public TokenBatch encodeBatch(List<String> texts) {
        if (texts.isEmpty()) {
            throw new ModelInputException("cannot encode an empty batch of texts");
        }
        List<int[][]> rows = new ArrayList<>(texts.size());
        int longest = 0;
        for (String text : texts) {
            int[][] row = assemble(contentIds(text));
            rows.add(row);
            longest = Math.max(longest, row[0].length);
        }
        int seq = padding.lengthFor(longest);
        int n = texts.size() * seq;
        int[] ids = new int[n];
        int[] mask = new int[n];
        int[] types = new int[n];
        Arrays.fill(ids, padId);
        Arrays.fill(types, padTypeId);
        for (int r = 0; r < rows.size(); r++) {
            int[] rowIds = rows.get(r)[0];
            int[] rowTypes = rows.get(r)[1];
            System.arraycopy(rowIds, 0, ids, r * seq, rowIds.length);
            System.arraycopy(rowTypes, 0, types, r * seq, rowTypes.length);
            Arrays.fill(mask, r * seq, r * seq + rowIds.length, 1);
        }
        return new TokenBatch(texts.size(), seq, ids, mask, types);
    }

    /** {ids, type ids} of the content (truncated to the budget) inside the template. */
    private int[][] assemble(List<Integer> content) {
        int budget = maxLength > 0 ? maxLength - specialTokenCount() : Integer.MAX_VALUE;
        int kept = Math.min(content.size(), budget);
        int length = specialTokenCount() + kept;
        int[] ids = new int[length];
        int[] types = new int[length];
        int k = 0;
        for (TemplatePiece piece : template) {
            if (piece.sequence()) {
                for (int i = 0; i < kept; i++) {
                    ids[k] = content.get(i);
                    types[k++] = piece.typeId();
                }
            } else {
                for (int id : piece.ids()) {
                    ids[k] = id;
                    types[k++] = piece.typeId();
                }
            }
        }
        return new int[][]{ids, types};
    }

    private int specialTokenCount() {
        int n = 0;
        for (TemplatePiece piece : template) {
            n += piece.sequence() ? 0 : piece.ids().length;
        }
        return n;
    }

    /** Added tokens found in the raw text become their ids; the text between goes through the pipeline. */
    private List<Integer> contentIds(String text) {
        List<Integer> ids = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            AddedToken match = addedTokenAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            wordPieces(text.substring(start, i), ids);
            ids.add(match.id());
            i += match.content().length();
            start = i;
        }
        wordPieces(text.substring(start), ids);
        return ids;
    }

    private AddedToken addedTokenAt(String text, int at) {
        for (AddedToken t : addedTokens) {
            if (text.startsWith(t.content(), at)) {
                return t;
            }
        }
        return null;
    }

    private void wordPieces(String segment, List<Integer> out) {
        if (segment.isEmpty()) {
            return;
        }
        for (String word : BertPreTokenizer.split(normalizer.normalize(segment))) {
            wordPiece(word, out);
        }
    }

    /** Greedy longest-match-first; the whole word is [UNK] when too long or when a remainder matches nothing. */
    private void wordPiece(String word, List<Integer> out) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > maxCharsPerWord) {
            out.add(unkId);
            return;
        }
        int mark = out.size();
        int start = 0;
        while (start < cps.length) {
            int end = cps.length;
            Integer found = null;
            while (start < end) {
                String piece = new String(cps, start, end - start);
                found = vocab.get(start > 0 ? continuationPrefix + piece : piece);
                if (found != null) {
                    break;
                }
                end--;
            }
            if (found == null) {
                out.subList(mark, out.size()).clear();
                out.add(unkId);
                return;
            }
            out.add(found);
            start = end;
        }
    }

    /** A token matched verbatim in the raw text (e.g. {@code [MASK]}). */
    record AddedToken(String content, int id) {
    }

    /** One item of the post-processor template: special token ids, or the sequence itself. */
    record TemplatePiece(int[] ids, int typeId, boolean sequence) {
    }
}
