package org.quant4j.core;

/**
 * How ternary weights ({@link Format#TERNARY}) choose their threshold and scale. Both store codes
 * {@code {-1, 0, +1}} and one scale per block and dequantize to {@code code · scale}, so the model file
 * and {@link Quantizer#codec} decode either; only quantization differs.
 */
public enum TernaryScale {
    /**
     * BitNet b1.58 (Ma et al. 2024, eq. 1-3): {@code γ = mean|W|}, codes {@code RoundClip(W/γ, -1, 1)}
     * (threshold {@code γ/2}), scale {@code γ}. Designed for training ternary networks from scratch.
     * {@link Quantizer#quantize} uses it.
     */
    ABSMEAN,
    /**
     * Ternary Weight Networks (Li, Zhang and Liu 2016, arXiv:1605.04711, sec. 2.2): the approximate
     * minimiser of {@code ||W − α·T||²}, threshold {@code Δ = 0.7·mean|W|}, codes {@code sign(W)} where
     * {@code |W| > Δ}, else 0, and scale {@code α = mean of |W| over |W| > Δ}
     * ({@link org.quant4j.core.formats.TwnTernary}).
     */
    TWN
}
