package org.quant4j.model.bert;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The census of ONNX Runtime's int8 all-MiniLM-L6-v2: its 36 dense weights and 3 embedding tables. */
class OnnxQuantizedWeightsTest {

    @Test
    void countsTheInt8PeersWeightsScalesAndZeroPoints() {
        byte[] bytes = MiniLm.readAllBytes(MiniLm.INT8_ONNX_RESOURCE);
        OnnxQuantizedWeights c = OnnxQuantizedWeights.count(bytes, MiniLm.INT8_ONNX_RESOURCE);
        assertThat(c.fileBytes()).isEqualTo(bytes.length);
        assertThat(c.matMulWeights()).isEqualTo(36);
        // 6 layers x (4 x 384x384 + 2 x 384x1536)
        long elements = 6L * (4 * 384 * 384 + 2 * 384 * 1536);
        assertThat(c.matMulElements()).isEqualTo(elements);
        // int8 codes, and per output column one FLOAT scale and one int8 zero point: 6 x (4 x 384 + 1536 + 384) columns
        long columns = 6L * (4 * 384 + 1536 + 384);
        assertThat(c.matMulBytes()).isEqualTo(elements + 5 * columns);
        assertThat(c.matMulBitsPerWeight()).isBetween(8.0, 8.1);
        // word, position and token-type tables, uint8 with one scale and zero point each
        long tables = (30522L + 512 + 2) * 384;
        assertThat(c.embeddingElements()).isEqualTo(tables);
        assertThat(c.embeddingBytes()).isEqualTo(tables + 3 * 5);
    }
}
