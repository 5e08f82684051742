package org.quant4j.model.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.io.CorruptFileException;

/** Pooling's string and config.json forms, and the three poolings worked by hand on a small masked batch. */
class PoolingTest {
    /** Two sequences of 3 positions, width 2; the second has its last position padded. */
    private static final TokenBatch BATCH = new TokenBatch(2, 3, new int[]{1, 2, 3, 1, 2, 0},
            new int[]{1, 1, 1, 1, 1, 0}, new int[6]);
    private static final INDArray HIDDEN = Nd4j.create(new float[]{
            3, 0, 1, 4, -1, 2,
            -2, 6, 0, -4, 100, 100}, new long[]{2, 3, 2}, 'c');

    private static Pooling config(String json, boolean normalize) {
        return Pooling.readConfig(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
                "1_Pooling/config.json", normalize);
    }

    @Test
    void parsesAndPrintsTheCliForms() {
        assertThat(Pooling.parse("mean")).isEqualTo(Pooling.MEAN);
        assertThat(Pooling.parse("CLS")).isEqualTo(Pooling.CLS);
        assertThat(Pooling.parse(" max ")).isEqualTo(Pooling.MAX);
        assertThat(Pooling.parse("mean-nonorm")).isEqualTo(new Pooling(Pooling.Mode.MEAN, false));
        for (Pooling.Mode m : Pooling.Mode.values()) {
            for (boolean n : new boolean[]{true, false}) {
                Pooling p = new Pooling(m, n);
                assertThat(Pooling.parse(p.toString())).isEqualTo(p);
            }
        }
        assertThat(Pooling.CLS.withNormalize(false).toString()).isEqualTo("cls-nonorm");
        assertThatThrownBy(() -> Pooling.parse("weightedmean")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'weightedmean'").hasMessageContaining("mean, cls or max");
    }

    @Test
    void readsSentenceTransformersPoolingConfig() {
        // all-MiniLM-L6-v2's and bge-small-en-v1.5's 1_Pooling/config.json.
        assertThat(config("""
                {"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
                 "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}""", true))
                .isEqualTo(Pooling.MEAN);
        assertThat(config("""
                {"word_embedding_dimension": 384, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false,
                 "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false,
                 "pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": false, "include_prompt": true}""",
                false)).isEqualTo(new Pooling(Pooling.Mode.CLS, false));
        assertThat(config("{\"pooling_mode_max_tokens\": true}", true)).isEqualTo(Pooling.MAX);
    }

    @Test
    void configErrorsNameTheFileAndTheMode() {
        assertThatThrownBy(() -> config("{\"pooling_mode_weightedmean_tokens\": true}", true))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("1_Pooling/config.json: pooling mode pooling_mode_weightedmean_tokens");
        assertThatThrownBy(() -> config("{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": true}", true))
                .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("at once");
        assertThatThrownBy(() -> config("{\"pooling_mode_cls_token\": false}", true))
                .isInstanceOf(CorruptFileException.class).hasMessageContaining("no pooling_mode_* key is true");
        assertThatThrownBy(() -> config("[1, 2", true)).isInstanceOf(CorruptFileException.class)
                .hasMessageContaining("1_Pooling/config.json");
    }

    @Test
    void meanClsAndMaxWorkedByHand() {
        Pooling raw = Pooling.MEAN.withNormalize(false);
        assertThat(SentencePooling.pool(HIDDEN, BATCH, raw).ravel().toFloatVector()).containsExactly(1f, 2f, -1f, 1f);
        assertThat(SentencePooling.pool(HIDDEN, BATCH, Pooling.MAX.withNormalize(false)).ravel().toFloatVector())
                .as("the padded position (100, 100) is not a maximum").containsExactly(3f, 4f, 0f, 6f);
        assertThat(SentencePooling.pool(HIDDEN, BATCH, Pooling.CLS.withNormalize(false)).ravel().toFloatVector())
                .containsExactly(3f, 0f, -2f, 6f);
        INDArray cls = SentencePooling.pool(HIDDEN, BATCH, Pooling.CLS);
        assertThat(cls.getFloat(0, 0)).isCloseTo(1f, offset(1e-6f));
        assertThat(cls.getFloat(1, 0)).isCloseTo((float) (-2 / Math.sqrt(40)), offset(1e-6f));
        assertThat(cls.getFloat(1, 1)).isCloseTo((float) (6 / Math.sqrt(40)), offset(1e-6f));
        assertThat(SentencePooling.pool(HIDDEN, BATCH, Pooling.MEAN))
                .isEqualTo(SentencePooling.normalize(SentencePooling.meanPool(HIDDEN, BATCH)));
    }
}
