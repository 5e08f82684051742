package org.quant4j.eval.encoder;

import java.util.Locale;

/**
 * One row of an encoder's evaluation: a model's sentence-embedding fidelity to fp32.
 *
 * @param method       fp32, ort-int8, rtn, gptq, hqq, awq or claq
 * @param spec         the weight format of the quantized dense layers (e.g. {@code int4-asym-g128})
 * @param bitsPerWeight stored bits per weight of the dense-layer weights (codes, scales, zero points, AWQ
 *                      input scales, CLAQ codebooks and outliers included), NaN when unknown
 * @param modelBytes   size of the model file
 * @param meanCosine   mean cosine of the sentence embeddings to fp32
 * @param minCosine    minimum cosine to fp32
 * @param top1Agreement fraction of sentences whose nearest other sentence is the same as under fp32
 * @param quantSeconds wall time of the quantization, NaN when not ours to measure
 * @param note         what else a reader must know about the row (may be empty)
 */
public record EncoderEvalRow(String method, String spec, double bitsPerWeight, long modelBytes, double meanCosine,
                            double minCosine, double top1Agreement, double quantSeconds, String note) {

    /** The Markdown table header matching {@link #markdown()}. */
    public static String markdownHeader() {
        return "| method | spec | bits/weight | model bytes | mean cosine | min cosine | top-1 NN agreement | quantization s |\n"
                + "|---|---|---|---|---|---|---|---|\n";
    }

    /** One Markdown table row. */
    public String markdown() {
        return String.format(Locale.ROOT, "| %s | %s | %s | %,d | %.5f | %.4f | %.3f | %s |", method, spec,
                Double.isNaN(bitsPerWeight) ? "n/a" : String.format(Locale.ROOT, "%.3f", bitsPerWeight), modelBytes,
                meanCosine, minCosine, top1Agreement,
                Double.isNaN(quantSeconds) ? "–" : String.format(Locale.ROOT, "%.1f", quantSeconds));
    }
}
