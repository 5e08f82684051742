package org.quant4j.examples.minilm;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.model.bert.BertQuantizedWeights;
import org.quant4j.eval.encoder.EncoderEvalRow;
import org.quant4j.eval.encoder.EncoderEvaluation;
import org.quant4j.eval.encoder.EncoderPtqTable;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.data.SotuCorpus;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.RangeSearch;
import org.quant4j.model.QuantizableModel;
import org.quant4j.model.TextCalibration;
import org.quant4j.model.bert.QuantizableBert;
import org.quant4j.ptq.pipeline.PtqPipeline;
import org.quant4j.ptq.pipeline.PtqResult;

/**
 * PTQ of a real pretrained transformer, end to end, with nothing downloaded at run time: all-MiniLM-L6-v2 and
 * its ONNX Runtime int8 twin come from the Maven artifacts on the classpath, the State of the Union text from the
 * cache the build filled ({@code ~/.cache/quant4j/sotu}). GPTQ 4-bit (asymmetric, groups of 128, act-order and the
 * mse range search) quantizes the 36 dense layers on 512 calibration sentences; the model file is written, read back into a freshly loaded model
 * with {@link BertQuantizedWeights}, and its sentence embeddings of 1,000 held-out sentences are compared with
 * fp32 and with the ONNX Runtime int8 peer.
 *
 * <pre>
 * bin/example minilm.MiniLmPtqExample [model-file] [sentences]
 * </pre>
 */
public final class MiniLmPtqExample {
    private MiniLmPtqExample() {
    }

    public static void main(String[] args) throws IOException {
        Path file = Path.of(args.length > 0 ? args[0] : "minilm-gptq-int4-g128.q4j");
        int sentences = args.length > 1 ? Integer.parseInt(args[1]) : SotuCorpus.DEFAULT_EVALUATION_SENTENCES;
        run(file, sentences, System.out);
    }

    /** Quantizes, writes {@code file}, reloads it and prints the fidelity table. */
    public static void run(Path file, int sentences, PrintStream out) throws IOException {
        SotuCorpus.Split split = SotuCorpus.load().split(SotuCorpus.DEFAULT_SEED, SotuCorpus.Unit.SENTENCE,
                SotuCorpus.DEFAULT_CALIBRATION_SENTENCES, sentences);
        out.printf(Locale.ROOT, "SOTU: calibration %s, %d evaluation sentences%n", split.calibrationDescription(),
                split.evaluation().size());
        EncoderEvaluation eval = EncoderEvaluation.miniLm(split.evaluation());

        QuantSpec spec = EncoderPtqTable.spec(4);
        MiniLm model = MiniLm.load();
        long start = System.nanoTime();
        // GPTQ with the reference's act-order (desc_act) and mse range search: the 4-bit setting that reaches a mean
        // cosine of 0.99 to fp32 here (README); new Gptq() gives the reference defaults.
        Gptq gptq = Gptq.builder().actOrder(true).range(RangeSearch.mse()).build();
        PtqResult<QuantizableModel> result = PtqPipeline.builder(gptq, spec)
                .calibration(new TextCalibration(split.calibration(), 128,
                        split.calibrationDescription() + ", seed " + SotuCorpus.DEFAULT_SEED))
                .seed(EncoderPtqTable.SEED).build()
                .quantize(QuantizableBert.of(model));
        double seconds = (System.nanoTime() - start) / 1e9;
        result.writeModel(file);
        out.printf(Locale.ROOT, "GPTQ act-order + mse %s: %.1f s, wrote %s (%,d bytes)%n", spec.shortName(), seconds, file,
                Files.size(file));

        QuantizedModel reread = ModelFileReader.read(file);
        MiniLm reloaded = MiniLm.load();
        org.quant4j.model.ModelWeights.Applied applied = BertQuantizedWeights.apply(reread, reloaded.encoder());
        out.printf(Locale.ROOT, "reloaded into a fresh model: %d quantized targets, %d fp32 parameters%n",
                applied.quantizedTargets(), applied.floatParameters());

        out.print(EncoderEvalRow.markdownHeader());
        out.println(eval.fp32Row().markdown());
        out.println(eval.ortInt8Row(MiniLm.readAllBytes(MiniLm.INT8_ONNX_RESOURCE), MiniLm.INT8_ONNX_RESOURCE,
                Runtime.getRuntime().availableProcessors()).markdown());
        out.println(eval.loadedRow(reloaded.sentenceEncoder(), reread, Files.size(file), seconds).markdown());
    }
}
