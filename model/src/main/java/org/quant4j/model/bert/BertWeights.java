package org.quant4j.model.bert;

import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Everything {@link BertGraphReader} reads from an ONNX encoder: configuration, embeddings, layers, and the
 * initializer each parameter was read from (PyTorch name -> ONNX initializer name).
 */
record BertWeights(BertConfig config, INDArray wordEmbeddings, INDArray positionEmbeddings,
                   INDArray tokenTypeEmbeddings, LayerNorm embeddingNorm, List<BertLayer> layers,
                   Map<String, String> initializers) {
}
