package org.quant4j.model.bert;

/**
 * The dimensions and constants of a BERT encoder, all read from the ONNX graph (none assumed).
 *
 * @param vocabSize        rows of the word embedding
 * @param hiddenSize       width of the hidden states (384 for all-MiniLM-L6-v2)
 * @param layers           number of encoder layers
 * @param heads            attention heads per layer
 * @param headDim          width of one head ({@code heads * headDim == hiddenSize})
 * @param intermediateSize width of the feed-forward layer
 * @param maxPositions     rows of the position embedding: the longest sequence the model can run
 * @param typeVocabSize    rows of the token-type embedding
 * @param attentionDivisor the attention scores are divided by this (the graph's constant, ≈ √headDim)
 * @param maskValue        added to the scores of masked keys (the graph's constant, e.g. −3.4028235e38)
 * @param geluDivisor      GELU's argument divisor (the graph's constant, ≈ √2)
 */
public record BertConfig(int vocabSize, int hiddenSize, int layers, int heads, int headDim, int intermediateSize,
                         int maxPositions, int typeVocabSize, float attentionDivisor, float maskValue,
                         float geluDivisor) {
}
