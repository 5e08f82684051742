package org.quant4j.model.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.quant4j.core.io.CorruptFileException;

/**
 * The sentence-transformers head of an encoder: how the token states {@code last_hidden_state} become one
 * vector per sentence ({@code Pooling}, {@code 1_Pooling/config.json}), and whether the vector is then
 * divided by its L2 norm (the {@code Normalize} module). {@link SentencePooling} computes it.
 *
 * <p>As a string (CLI, {@link #parse}, {@link #toString}): {@code mean}, {@code cls} or {@code max}, which
 * normalise — what retrieval models such as all-MiniLM-L6-v2 (mean) and BGE (cls) use — and the same with
 * the suffix {@code -nonorm} for the raw pooled vector ({@code mean-nonorm}, {@code cls-nonorm},
 * {@code max-nonorm}), e.g. for a model whose sentence-transformers pipeline has no {@code Normalize}.
 *
 * @param mode      which token states are pooled
 * @param normalize whether the pooled vector is divided by its L2 norm
 */
public record Pooling(Mode mode, boolean normalize) {
    /** Mean over the tokens under the mask, L2-normalised (all-MiniLM-L6-v2). */
    public static final Pooling MEAN = new Pooling(Mode.MEAN, true);
    /** The first ({@code [CLS]}) token's state, L2-normalised (BGE). */
    public static final Pooling CLS = new Pooling(Mode.CLS, true);
    /** Per-dimension maximum over the tokens under the mask, L2-normalised. */
    public static final Pooling MAX = new Pooling(Mode.MAX, true);

    private static final String NO_NORM = "-nonorm";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The sentence-transformers pooling modes quant4j computes. */
    public enum Mode {
        /** {@code pooling_mode_mean_tokens}: mean of the token states under the attention mask. */
        MEAN("pooling_mode_mean_tokens"),
        /** {@code pooling_mode_cls_token}: the state of the first token, whatever the mask. */
        CLS("pooling_mode_cls_token"),
        /** {@code pooling_mode_max_tokens}: per-dimension maximum of the token states under the mask. */
        MAX("pooling_mode_max_tokens");

        private final String configKey;

        Mode(String configKey) {
            this.configKey = configKey;
        }

        /** The key of this mode in sentence-transformers' {@code 1_Pooling/config.json}. */
        public String configKey() {
            return configKey;
        }
    }

    public Pooling {
        Objects.requireNonNull(mode, "mode");
    }

    /** The same pooling with or without L2 normalisation. */
    public Pooling withNormalize(boolean normalise) {
        return new Pooling(mode, normalise);
    }

    /**
     * Parses {@code mean|cls|max}, optionally suffixed {@code -nonorm} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static Pooling parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        boolean normalise = !s.endsWith(NO_NORM);
        String mode = normalise ? s : s.substring(0, s.length() - NO_NORM.length());
        for (Mode m : Mode.values()) {
            if (m.name().toLowerCase(Locale.ROOT).equals(mode)) {
                return new Pooling(m, normalise);
            }
        }
        throw new IllegalArgumentException("unknown pooling '" + text + "': expected mean, cls or max, optionally "
                + "suffixed " + NO_NORM + " (no L2 normalisation), e.g. cls or mean" + NO_NORM);
    }

    /**
     * Reads sentence-transformers' pooling configuration ({@code 1_Pooling/config.json}): exactly one of
     * {@code pooling_mode_cls_token}, {@code pooling_mode_mean_tokens}, {@code pooling_mode_max_tokens} is true
     * and every other {@code pooling_mode_*} key is false. The file does not say whether a {@code Normalize}
     * module follows (that is in {@code modules.json}): the caller tells.
     *
     * @param source names the file in error messages
     * @throws UnsupportedModelException naming the mode if the file selects another mode (weighted mean, last
     *                                   token, mean / √length) or several at once
     * @throws CorruptFileException      if it is not a JSON object or selects no mode
     */
    public static Pooling readConfig(InputStream json, String source, boolean normalize) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new CorruptFileException(source + ": not a valid pooling config.json: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CorruptFileException(source + ": not a valid pooling config.json (no JSON object)");
        }
        List<String> selected = new ArrayList<>();
        root.fieldNames().forEachRemaining(key -> {
            if (key.startsWith("pooling_mode_") && root.get(key).asBoolean(false)) {
                selected.add(key);
            }
        });
        if (selected.isEmpty()) {
            throw new CorruptFileException(source + ": no pooling_mode_* key is true");
        }
        if (selected.size() > 1) {
            throw new UnsupportedModelException(source + ": selects " + selected
                    + " at once (sentence-transformers concatenates them); quant4j pools with exactly one mode");
        }
        for (Mode m : Mode.values()) {
            if (m.configKey.equals(selected.get(0))) {
                return new Pooling(m, normalize);
            }
        }
        throw new UnsupportedModelException(source + ": pooling mode " + selected.get(0)
                + " is not supported (only pooling_mode_cls_token, pooling_mode_mean_tokens, pooling_mode_max_tokens)");
    }

    /** Reads a {@code 1_Pooling/config.json} file; see {@link #readConfig(InputStream, String, boolean)}. */
    public static Pooling readConfig(Path json, boolean normalize) {
        try (InputStream in = Files.newInputStream(json)) {
            return readConfig(in, json.toString(), normalize);
        } catch (NoSuchFileException e) {
            throw new CorruptFileException(json + ": no such pooling config file");
        } catch (IOException e) {
            throw new CorruptFileException(json + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The {@link #parse} form: {@code mean}, {@code cls-nonorm}, ... */
    @Override
    public String toString() {
        return mode.name().toLowerCase(Locale.ROOT) + (normalize ? "" : NO_NORM);
    }
}
