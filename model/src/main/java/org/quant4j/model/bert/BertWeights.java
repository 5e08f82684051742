package org.quant4j.model.bert;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Everything {@link BertGraphReader} reads from an ONNX encoder: configuration, embeddings and layers. */
record BertWeights(BertConfig config, INDArray wordEmbeddings, INDArray positionEmbeddings,
                   INDArray tokenTypeEmbeddings, LayerNorm embeddingNorm, List<BertLayer> layers) {
}
