package org.quant4j.model.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.quant4j.core.io.CorruptFileException;

/**
 * Reads the parts of a Hugging Face {@code tokenizer.json} (tokenizers' serialization format, version
 * 1.0) that a BERT WordPiece tokenizer uses: {@code model} (WordPiece: vocab, unk_token,
 * continuing_subword_prefix, max_input_chars_per_word), {@code normalizer} (BertNormalizer or null),
 * {@code pre_tokenizer} (BertPreTokenizer), {@code post_processor} (TemplateProcessing, BertProcessing
 * or null), {@code added_tokens}, {@code truncation} and {@code padding}. Anything else is refused by
 * name rather than silently ignored.
 */
final class TokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String source;

    private TokenizerJson(String source) {
        this.source = source;
    }

    static WordPieceTokenizer parse(InputStream in, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(in);
        } catch (IOException e) {
            throw new CorruptFileException(source + ": not a valid tokenizer.json: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CorruptFileException(source + ": not a valid tokenizer.json (no JSON object)");
        }
        return new TokenizerJson(source).tokenizer(root);
    }

    private WordPieceTokenizer tokenizer(JsonNode root) {
        JsonNode model = required(root, "model");
        requireType(model, "model", "WordPiece");
        JsonNode vocabNode = required(model, "vocab");
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        String[] tokens = new String[vocabNode.size()];
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt(-1);
            if (id < 0 || id >= tokens.length || tokens[id] != null) {
                throw new CorruptFileException(source + ": vocab entry '" + e.getKey() + "' has id " + e.getValue()
                        + "; ids must be 0.." + (tokens.length - 1) + ", each used once");
            }
            tokens[id] = e.getKey();
            vocab.put(e.getKey(), id);
        }
        String unk = required(model, "unk_token").asText();
        Integer unkId = vocab.get(unk);
        if (unkId == null) {
            throw new CorruptFileException(source + ": unk_token '" + unk + "' is not in the vocabulary");
        }
        String prefix = model.path("continuing_subword_prefix").asText("##");
        int maxChars = model.path("max_input_chars_per_word").asInt(100);

        BertNormalizer normalizer = normalizer(root.path("normalizer"));
        JsonNode pre = root.path("pre_tokenizer");
        requireType(pre, "pre_tokenizer", "BertPreTokenizer");

        List<WordPieceTokenizer.AddedToken> added = addedTokens(root.path("added_tokens"), vocab);
        List<WordPieceTokenizer.TemplatePiece> template = template(root.path("post_processor"), vocab);
        int maxLength = truncation(root.path("truncation"));
        JsonNode pad = root.path("padding");
        Padding padding = padding(pad);
        int padId = pad.isObject() ? pad.path("pad_id").asInt(0) : 0;
        int padTypeId = pad.isObject() ? pad.path("pad_type_id").asInt(0) : 0;
        if (padId < 0 || padId >= tokens.length) {
            throw new CorruptFileException(source + ": pad_id " + padId + " is outside the vocabulary");
        }
        return new WordPieceTokenizer(source, vocab, tokens, unkId, prefix, maxChars, normalizer, added, template,
                maxLength, padding, padId, padTypeId);
    }

    private BertNormalizer normalizer(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return new BertNormalizer(false, false, false, false);
        }
        requireType(n, "normalizer", "BertNormalizer");
        boolean lowercase = n.path("lowercase").asBoolean(true);
        JsonNode strip = n.path("strip_accents");
        // tokenizers: strip_accents unset (null) follows lowercase, as in the original BERT.
        boolean stripAccents = strip.isBoolean() ? strip.asBoolean() : lowercase;
        return new BertNormalizer(n.path("clean_text").asBoolean(true), n.path("handle_chinese_chars").asBoolean(true),
                stripAccents, lowercase);
    }

    private List<WordPieceTokenizer.AddedToken> addedTokens(JsonNode list, Map<String, Integer> vocab) {
        List<WordPieceTokenizer.AddedToken> added = new ArrayList<>();
        for (JsonNode t : list) {
            String content = required(t, "content").asText();
            int id = required(t, "id").asInt();
            for (String flag : List.of("single_word", "lstrip", "rstrip", "normalized")) {
                if (t.path(flag).asBoolean(false)) {
                    throw new UnsupportedModelException(source + ": added token '" + content + "' sets " + flag
                            + "; only verbatim matching of added tokens is supported");
                }
            }
            if (!Integer.valueOf(id).equals(vocab.get(content))) {
                throw new UnsupportedModelException(source + ": added token '" + content + "' (id " + id
                        + ") is not the vocabulary entry of that id");
            }
            added.add(new WordPieceTokenizer.AddedToken(content, id));
        }
        return added;
    }

    private List<WordPieceTokenizer.TemplatePiece> template(JsonNode p, Map<String, Integer> vocab) {
        List<WordPieceTokenizer.TemplatePiece> pieces = new ArrayList<>();
        if (p.isMissingNode() || p.isNull()) {
            pieces.add(new WordPieceTokenizer.TemplatePiece(new int[0], 0, true));
            return pieces;
        }
        String type = p.path("type").asText();
        if (type.equals("BertProcessing")) {
            pieces.add(special(p.path("cls"), vocab, "cls"));
            pieces.add(new WordPieceTokenizer.TemplatePiece(new int[0], 0, true));
            pieces.add(special(p.path("sep"), vocab, "sep"));
            return pieces;
        }
        requireType(p, "post_processor", "TemplateProcessing");
        JsonNode specials = p.path("special_tokens");
        int sequences = 0;
        for (JsonNode item : required(p, "single")) {
            if (item.has("Sequence")) {
                JsonNode seq = item.get("Sequence");
                if (!seq.path("id").asText().equals("A")) {
                    throw new UnsupportedModelException(source + ": the single-sequence template uses sequence '"
                            + seq.path("id").asText() + "'");
                }
                pieces.add(new WordPieceTokenizer.TemplatePiece(new int[0], seq.path("type_id").asInt(0), true));
                sequences++;
            } else if (item.has("SpecialToken")) {
                JsonNode st = item.get("SpecialToken");
                String name = st.path("id").asText();
                JsonNode def = specials.path(name);
                if (!def.path("ids").isArray() || def.path("ids").isEmpty()) {
                    throw new CorruptFileException(source + ": template special token '" + name
                            + "' is not defined in special_tokens");
                }
                int[] ids = new int[def.path("ids").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = def.path("ids").get(i).asInt();
                }
                pieces.add(new WordPieceTokenizer.TemplatePiece(ids, st.path("type_id").asInt(0), false));
            } else {
                throw new UnsupportedModelException(source + ": unknown template item " + item);
            }
        }
        if (sequences != 1) {
            throw new UnsupportedModelException(source + ": the single-sequence template holds " + sequences
                    + " sequences, expected 1");
        }
        return pieces;
    }

    private WordPieceTokenizer.TemplatePiece special(JsonNode pair, Map<String, Integer> vocab, String field) {
        if (!pair.isArray() || pair.size() != 2 || !pair.get(1).canConvertToInt()) {
            throw new CorruptFileException(source + ": BertProcessing." + field + " is not [token, id]");
        }
        if (!Integer.valueOf(pair.get(1).asInt()).equals(vocab.get(pair.get(0).asText()))) {
            throw new CorruptFileException(source + ": BertProcessing." + field + " " + pair
                    + " is not a vocabulary entry with that id");
        }
        return new WordPieceTokenizer.TemplatePiece(new int[]{pair.get(1).asInt()}, 0, false);
    }

    /** The truncation length, 0 for none; only right-side truncation is supported. */
    private int truncation(JsonNode t) {
        if (t.isMissingNode() || t.isNull()) {
            return 0;
        }
        String direction = t.path("direction").asText("Right");
        if (!direction.equals("Right")) {
            throw new UnsupportedModelException(source + ": truncation direction '" + direction
                    + "' is not supported (only Right)");
        }
        int max = required(t, "max_length").asInt();
        if (max < 1) {
            throw new CorruptFileException(source + ": truncation max_length " + max + " must be >= 1");
        }
        return max;
    }

    /** Fixed or batch-longest padding on the right; no padding section means batch-longest. */
    private Padding padding(JsonNode p) {
        if (p.isMissingNode() || p.isNull()) {
            return Padding.batchLongest();
        }
        String direction = p.path("direction").asText("Right");
        if (!direction.equals("Right")) {
            throw new UnsupportedModelException(source + ": padding direction '" + direction
                    + "' is not supported (only Right)");
        }
        int multiple = p.path("pad_to_multiple_of").asInt(0);
        JsonNode strategy = p.path("strategy");
        if (strategy.isTextual() && strategy.asText().equals("BatchLongest")) {
            return new Padding(0, multiple);
        }
        if (strategy.has("Fixed")) {
            int length = strategy.get("Fixed").asInt();
            if (length < 1) {
                throw new CorruptFileException(source + ": fixed padding length " + length + " must be >= 1");
            }
            return new Padding(length, multiple);
        }
        throw new UnsupportedModelException(source + ": padding strategy " + strategy + " is not supported");
    }

    private JsonNode required(JsonNode parent, String field) {
        JsonNode n = parent.path(field);
        if (n.isMissingNode() || n.isNull()) {
            throw new CorruptFileException(source + ": tokenizer.json lacks the field '" + field + "'");
        }
        return n;
    }

    private void requireType(JsonNode n, String component, String expected) {
        String type = n.path("type").asText("(none)");
        if (!type.equals(expected)) {
            throw new UnsupportedModelException(source + ": " + component + " '" + type
                    + "' is not supported; the tokenizer implements " + expected);
        }
    }
}
