package org.quant4j.qat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Base64;
import org.quant4j.core.io.CorruptFileException;

/**
 * The mutable state of a quantizer (observed ranges and histograms, LSQ steps and offsets, their updater state) as
 * it travels inside DL4J's configuration JSON: Java serialization in Base64. The quantizers' scratch buffers are
 * transient; reading accepts quant4j classes only. Used by the shaded-Jackson forms of {@link FakeQuantActivation} and the weight-noise classes, so a
 * prepared network written by {@code ModelSerializer} is restored with its quantizers as they were.
 */
final class QuantizerState {
    /** Only quant4j's own classes (and what they are made of) are read back: a checkpoint is data, not code. */
    private static final ObjectInputFilter FILTER = ObjectInputFilter.Config.createFilter(
            "maxdepth=20;org.quant4j.**;java.lang.Enum;java.lang.Record;java.lang.Number;java.lang.Float;!*");

    private QuantizerState() {}

    static String encode(Serializable state) {
        if (state == null) {
            return null;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(state);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialize quantizer state " + state.getClass().getSimpleName(), e);
        }
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    /**
     * The object {@link #encode} wrote.
     *
     * @param owner names the layer in errors
     * @throws CorruptFileException if {@code text} is missing, not Base64, or not a {@code type}
     */
    static <T> T decode(String text, Class<T> type, String owner, String what) {
        if (text == null) {
            throw new CorruptFileException(owner + ": the saved configuration has no " + what + " state (written by an "
                    + "older quant4j, or edited); a QAT checkpoint must be written from a network prepared by Qat.prepare");
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(text)))) {
            in.setObjectInputFilter(FILTER);
            Object o = in.readObject();
            if (!type.isInstance(o)) {
                throw new CorruptFileException(owner + ": saved " + what + " state is a " + o.getClass().getName()
                        + ", not a " + type.getSimpleName());
            }
            return type.cast(o);
        } catch (IOException | ClassNotFoundException | IllegalArgumentException e) {
            throw new CorruptFileException(owner + ": cannot read the saved " + what + " state: " + e, e);
        }
    }

    /** The {@link QatConfig} stored as its JSON string. */
    static QatConfig config(String json, String owner) {
        if (json == null) {
            throw new CorruptFileException(owner + ": the saved configuration has no QAT config");
        }
        return QatConfig.fromJson(json);
    }
}
