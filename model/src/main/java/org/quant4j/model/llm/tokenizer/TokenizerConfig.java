package org.quant4j.model.llm.tokenizer;

/**
 * How a vocabulary is used, as llama.cpp settles it in {@code llama_vocab::impl::load} ({@code src/llama-vocab.cpp})
 * from the model type's defaults and the GGUF keys that override them.
 *
 * @param model the tokenizer family
 * @param pre the byte-level BPE pre-tokenizer (null for SentencePiece)
 * @param bos BOS id, or -1
 * @param eos EOS id, or -1
 * @param unk unknown-token id, or -1
 * @param pad padding id, or -1
 * @param addBos whether encoding with special tokens starts with BOS ({@code tokenizer.ggml.add_bos_token})
 * @param addEos whether it ends with EOS ({@code tokenizer.ggml.add_eos_token})
 * @param addSpacePrefix whether each text fragment after a special token (or at the start) gets a leading space
 *        ({@code tokenizer.ggml.add_space_prefix}; SentencePiece's default)
 * @param removeExtraWhitespaces {@code tokenizer.ggml.remove_extra_whitespaces}, read for completeness: llama.cpp
 *        applies it only to T5-style (UGM) tokenizers, so neither family here uses it
 * @param cleanSpaces whether decoding cleans up spaces before punctuation ({@link SpaceCleanup})
 */
public record TokenizerConfig(TokenizerModel model, PreTokenizer pre, int bos, int eos, int unk, int pad,
        boolean addBos, boolean addEos, boolean addSpacePrefix, boolean removeExtraWhitespaces, boolean cleanSpaces) {
}
