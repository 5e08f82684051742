package org.quant4j.model.bert;

import java.util.Locale;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;
import org.quant4j.core.io.CorruptFileException;

/**
 * The WordPiece tokenizer on the real all-MiniLM-L6-v2 tokenizer.json (bert-base-uncased vocabulary)
 * against ids published for that vocabulary, and on a tiny hand-made vocabulary whose every id can be
 * worked out by hand.
 */
class WordPieceTokenizerTest {
    private static final WordPieceTokenizer MINILM = read(MiniLm.TOKENIZER_RESOURCE);

    private static WordPieceTokenizer read(String resource) {
        try (InputStream in = MiniLm.open(resource)) {
            return WordPieceTokenizer.read(in, resource);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String tinyJson() {
        try (InputStream in = WordPieceTokenizerTest.class.getResourceAsStream("tiny-tokenizer.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static WordPieceTokenizer tiny(String json) {
        return WordPieceTokenizer.read(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "tiny.json");
    }

    private int id(String token) {
        return MINILM.tokenId(token).orElseThrow();
    }

    @Test
    void idsPublishedForTheBertUncasedVocabulary() {
        // Hugging Face course, chapter 2 (bert-base-uncased / distilbert-base-uncased share this vocabulary).
        assertThat(MINILM.encode("I've been waiting for a HuggingFace course my whole life."))
                .containsExactly(101, 1045, 1005, 2310, 2042, 3403, 2005, 1037, 17662, 12172, 2607, 2026, 2878,
                        2166, 1012, 102);
        assertThat(MINILM.encode("I hate this so much!")).containsExactly(101, 1045, 5223, 2023, 2061, 2172, 999, 102);
        assertThat(MINILM.encode("Let's try to tokenize!"))
                .containsExactly(101, 2292, 1005, 1055, 3046, 2000, 19204, 4697, 999, 102);
        assertThat(MINILM.encode("Hello world!")).containsExactly(101, 7592, 2088, 999, 102);
        // Greedy longest match first: "una" beats "un" although "un" is in the vocabulary too (the BERT
        // README's "un ##aff ##able" illustrates another vocabulary; bert-base-uncased gives this).
        assertThat(MINILM.tokenId("un")).isPresent();
        assertThat(MINILM.tokenize("unaffable")).containsExactly("una", "##ffa", "##ble");
    }

    @Test
    void fileConfigurationIsRead() {
        assertThat(MINILM.vocabSize()).isEqualTo(30_522);
        assertThat(MINILM.maxLength()).isEqualTo(128);
        assertThat(MINILM.padding()).isEqualTo(Padding.fixed(128));
        assertThat(MINILM.token(100)).isEqualTo("[UNK]");
        assertThat(List.of(id("[PAD]"), id("[CLS]"), id("[SEP]"), id("[MASK]"))).containsExactly(0, 101, 102, 103);
    }

    @Test
    void normalizerLowerCasesStripsAccentsAndCleans() {
        assertThat(MINILM.tokenize("Café RÉSUMÉ naïve Zürich")).containsExactly("cafe", "resume", "naive", "zurich");
        // Control characters vanish, every kind of whitespace separates words.
        assertThat(MINILM.tokenize("hello\u0000\u0007world")).isEqualTo(MINILM.tokenize("helloworld"));
        assertThat(MINILM.tokenize("hello\t\n\u00A0\u3000world")).containsExactly("hello", "world");
        // CJK ideographs become words of their own even without spaces.
        assertThat(MINILM.tokenize("北京is")).containsExactly("北", "京", "is");
    }

    /** all-MiniLM-L6-v2's tokenizer.json with a section edited. */
    private static WordPieceTokenizer miniLmWith(String section, Consumer<ObjectNode> edit) {
        try (InputStream in = MiniLm.open(MiniLm.TOKENIZER_RESOURCE)) {
            ObjectMapper json = new ObjectMapper();
            ObjectNode root = (ObjectNode) json.readTree(in);
            edit.accept((ObjectNode) root.get(section));
            return WordPieceTokenizer.read(new ByteArrayInputStream(json.writeValueAsBytes(root)), "edited.json");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Each BertNormalizer flag of the file is honoured; strip_accents null follows lowercase, as in tokenizers. */
    @Test
    void normalizerSettingsComeFromTheFile() {
        assertThat(MINILM.tokenize("café Café")).containsExactly("cafe", "cafe");
        assertThat(miniLmWith("normalizer", n -> n.put("strip_accents", false)).tokenize("café Café"))
                .as("é is not in the uncased vocabulary").containsExactly("[UNK]", "[UNK]");
        assertThat(miniLmWith("normalizer", n -> n.put("lowercase", false)).tokenize("café hello World"))
                .as("no lower-casing, and so no accent stripping").containsExactly("[UNK]", "hello", "[UNK]");
        assertThat(miniLmWith("normalizer", n -> n.put("lowercase", false).put("strip_accents", true))
                .tokenize("café Café")).containsExactly("cafe", "[UNK]");
        assertThat(MINILM.tokenize("北京is")).containsExactly("北", "京", "is");
        assertThat(miniLmWith("normalizer", n -> n.put("handle_chinese_chars", false)).tokenize("北京is"))
                .containsExactly("北", "##京", "##is");
        assertThat(MINILM.tokenize("hello\u0007world")).containsExactly("hello", "##world");
        assertThat(miniLmWith("normalizer", n -> n.put("clean_text", false)).tokenize("hello\u0007world"))
                .containsExactly("[UNK]");
    }

    @Test
    void truncationPaddingAndTemplateComeFromTheFile() {
        WordPieceTokenizer t = miniLmWith("truncation", n -> n.put("max_length", 8));
        assertThat(t.encode("word ".repeat(20))).hasSize(8).startsWith(101).endsWith(102);
        t = miniLmWith("padding", n -> {
            ((ObjectNode) n.get("strategy")).put("Fixed", 6);
            n.put("pad_id", 100).put("pad_type_id", 1);
        });
        TokenBatch b = t.encodeBatch(List.of("Hello world"));
        assertThat(b.inputIds()).containsExactly(101, 7592, 2088, 102, 100, 100);
        assertThat(b.tokenTypeIds()).containsExactly(0, 0, 0, 0, 1, 1);
        t = miniLmWith("post_processor", n -> ((ObjectNode) n.get("single").get(1).get("Sequence")).put("type_id", 1));
        b = t.withPadding(Padding.batchLongest()).encodeBatch(List.of("Hello world"));
        assertThat(b.inputIds()).containsExactly(101, 7592, 2088, 102);
        assertThat(b.tokenTypeIds()).as("the single template's type ids").containsExactly(0, 1, 1, 0);
    }

    @Test
    void punctuationIsIsolated() {
        assertThat(MINILM.tokenize("a+b=c, (d)!")).containsExactly("a", "+", "b", "=", "c", ",", "(", "d", ")", "!");
        assertThat(MINILM.tokenize("\u201Cquoted\u201D\u2014dash"))
                .containsExactly("\u201C", "quoted", "\u201D", "\u2014", "dash");
    }

    @Test
    void unknownCharactersAndSpecialTokens() {
        assertThat(MINILM.encode("🙂")).containsExactly(101, 100, 102);
        assertThat(MINILM.encode("the [MASK] sat")).containsExactly(101, id("the"), 103, id("sat"), 102);
    }

    @Test
    void truncatesToTheFileLengthKeepingSeparator() {
        String longText = "word ".repeat(300);
        int[] ids = MINILM.encode(longText);
        assertThat(ids).hasSize(128);
        assertThat(ids[0]).isEqualTo(101);
        assertThat(ids[127]).isEqualTo(102);
        assertThat(MINILM.withTruncation(16).encode(longText)).hasSize(16);
        assertThat(MINILM.withoutTruncation().encode(longText)).hasSize(302);
    }

    @Test
    void paddingFixedOrToTheLongestOfTheBatch() {
        List<String> texts = List.of("Hello world!", "I hate this so much!");
        TokenBatch fixed = MINILM.encodeBatch(texts);
        assertThat(fixed.sequenceLength()).isEqualTo(128);
        assertThat(fixed.length(0)).isEqualTo(5);
        assertThat(fixed.ids(1)).containsExactly(MINILM.encode("I hate this so much!"));
        assertThat(fixed.inputIds()[5]).isZero();
        assertThat(fixed.tokenTypeIds()).containsOnly(0);

        TokenBatch longest = MINILM.withPadding(Padding.batchLongest()).encodeBatch(texts);
        assertThat(longest.sequenceLength()).isEqualTo(8);
        assertThat(longest.attentionMask()).containsExactly(1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        assertThat(MINILM.withPadding(new Padding(0, 16)).encodeBatch(texts).sequenceLength()).isEqualTo(16);
    }

    @Test
    void tinyVocabularyWorkedByHand() {
        WordPieceTokenizer t = tiny(tinyJson());
        assertThat(t.encode("Unaffable!")).containsExactly(2, 4, 5, 6, 8, 3);
        // Longest match first: "aff" starts a word, "##aff" continues one.
        assertThat(t.encode("aff unaff")).containsExactly(2, 7, 4, 5, 3);
        // A remainder that matches nothing makes the whole word [UNK].
        assertThat(t.encode("unx")).containsExactly(2, 1, 3);
        // max_input_chars_per_word is 10: ten characters are pieced, eleven are [UNK].
        assertThat(t.encode("aaaaaaaaaa")).containsExactly(2, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3);
        assertThat(t.encode("aaaaaaaaaaa")).containsExactly(2, 1, 3);
        // No padding section in the file: batches are padded to their longest sequence, no truncation.
        assertThat(t.padding().isBatchLongest()).isTrue();
        assertThat(t.maxLength()).isZero();
        assertThat(t.encodeBatch(List.of("a", "a a a")).sequenceLength()).isEqualTo(5);
    }

    @Test
    void unsupportedComponentsAreNamed() {
        String json = tinyJson();
        assertThatThrownBy(() -> tiny(json.replace("\"type\": \"BertNormalizer\"", "\"type\": \"NFKC\"")))
                .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("normalizer 'NFKC'");
        assertThatThrownBy(() -> tiny(json.replace("\"type\": \"WordPiece\", \"unk_token\"", "\"type\": \"BPE\", \"unk_token\"")))
                .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("model 'BPE'");
        assertThatThrownBy(() -> tiny(json.replace("\"type\": \"BertPreTokenizer\"", "\"type\": \"Metaspace\"")))
                .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("pre_tokenizer 'Metaspace'");
        assertThatThrownBy(() -> tiny(json.replace("\"unk_token\": \"[UNK]\"", "\"unk_token\": \"<unk>\"")))
                .isInstanceOf(CorruptFileException.class).hasMessageContaining("unk_token '<unk>'");
        assertThatThrownBy(() -> tiny(json.substring(0, json.length() / 2)))
                .isInstanceOf(CorruptFileException.class).hasMessageContaining("tiny.json");
    }

    /**
     * Without [UNK], the pieces put back together (continuations glued, prefixes dropped) spell the
     * normalised words: WordPiece neither loses nor invents characters.
     */
    @Property(tries = 200)
    void piecesSpellTheWords(@ForAll @StringLength(max = 60) String raw) {
        String text = raw.replaceAll("[^A-Za-z0-9 .,!?'-]", " ");
        List<String> pieces = MINILM.withoutTruncation().tokenize(text);
        List<String> words = new ArrayList<>();
        for (String piece : pieces) {
            if (piece.startsWith("##")) {
                words.set(words.size() - 1, words.get(words.size() - 1) + piece.substring(2));
            } else {
                words.add(piece);
            }
        }
        assertThat(pieces).doesNotContain("[UNK]");
        assertThat(String.join("", words)).isEqualTo(text.toLowerCase(Locale.ROOT).replace(" ", ""));
        int[] ids = MINILM.encode(text);
        assertThat(ids.length).isLessThanOrEqualTo(128);
        assertThat(ids[0]).isEqualTo(101);
        assertThat(ids[ids.length - 1]).isEqualTo(102);
    }
}
