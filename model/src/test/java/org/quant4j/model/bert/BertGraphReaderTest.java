package org.quant4j.model.bert;

import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import onnx.Onnx;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.shade.protobuf.CodedInputStream;
import org.quant4j.core.io.CorruptFileException;

/**
 * The graph walker identifies BERT's weights by graph structure, not names, and names what it cannot read.
 */
class BertGraphReaderTest {
    private static Onnx.ModelProto model;
    private static BertEncoder original;

    @BeforeAll
    static void load() throws IOException {
        model = parse(MiniLm.ONNX_RESOURCE);
        original = BertEncoder.of(model, MiniLm.ONNX_RESOURCE);
    }

    private static Onnx.ModelProto parse(String resource) throws IOException {
        try (InputStream in = new BufferedInputStream(MiniLm.open(resource), 1 << 20)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return Onnx.ModelProto.parseFrom(coded);
        }
    }

    private static int nodeIndex(String name) {
        for (int i = 0; i < model.getGraph().getNodeCount(); i++) {
            if (model.getGraph().getNode(i).getName().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException(name);
    }

    /** Every initializer, node and intermediate tensor renamed to a meaningless name: same weights. */
    @Test
    void weightsAreFoundByStructureNotByName() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        Onnx.GraphProto.Builder g = b.getGraphBuilder();
        Map<String, String> names = new HashMap<>();
        int next = 0;
        for (Onnx.TensorProto t : model.getGraph().getInitializerList()) {
            names.put(t.getName(), "w" + next++);
        }
        for (Onnx.NodeProto n : model.getGraph().getNodeList()) {
            for (String out : n.getOutputList()) {
                if (!out.equals("last_hidden_state")) {
                    names.put(out, "t" + next++);
                }
            }
        }
        for (int i = 0; i < g.getInitializerCount(); i++) {
            Onnx.TensorProto.Builder t = g.getInitializerBuilder(i);
            t.setName(names.get(t.getName()));
        }
        for (int i = 0; i < g.getNodeCount(); i++) {
            Onnx.NodeProto.Builder n = g.getNodeBuilder(i);
            n.setName("n" + i);
            for (int k = 0; k < n.getInputCount(); k++) {
                n.setInput(k, names.getOrDefault(n.getInput(k), n.getInput(k)));
            }
            for (int k = 0; k < n.getOutputCount(); k++) {
                n.setOutput(k, names.getOrDefault(n.getOutput(k), n.getOutput(k)));
            }
        }
        BertEncoder renamed = BertEncoder.of(b.build(), "renamed.onnx");
        assertThat(renamed.targets()).isEqualTo(original.targets());
        assertThat(renamed.parameterNames()).isEqualTo(original.parameterNames());
        for (String name : original.parameterNames()) {
            assertThat(renamed.parameter(name)).as(name).isEqualTo(original.parameter(name));
        }
    }

    @Test
    void onnxRuntimeInt8ModelIsRejectedNamingItsOps() throws IOException {
        Onnx.ModelProto q = parse(MiniLm.INT8_ONNX_RESOURCE);
        assertThatThrownBy(() -> BertEncoder.of(q, MiniLm.INT8_ONNX_RESOURCE))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining(MiniLm.INT8_ONNX_RESOURCE)
                .hasMessageContaining("DequantizeLinear")
                .hasMessageContaining("DynamicQuantizeLinear")
                .hasMessageContaining("MatMulInteger (36 nodes");
    }

    @Test
    void anUnknownOpIsNamed() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        b.getGraphBuilder().getNodeBuilder(nodeIndex("/encoder/layer.3/intermediate/intermediate_act_fn/Erf"))
                .setOpType("Gelu");
        assertThatThrownBy(() -> BertEncoder.of(b.build(), "gelu.onnx")).isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("gelu.onnx: unsupported ONNX op Gelu (1 nodes, e.g. "
                        + "'/encoder/layer.3/intermediate/intermediate_act_fn/Erf')");
    }

    @Test
    void softmaxOverTheWrongAxisIsRefused() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        Onnx.NodeProto.Builder softmax = b.getGraphBuilder()
                .getNodeBuilder(nodeIndex("/encoder/layer.2/attention/self/Softmax"));
        softmax.setAttribute(0, softmax.getAttribute(0).toBuilder().setI(2));
        assertThatThrownBy(() -> BertEncoder.of(b.build(), "axis.onnx")).isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("layer 2 attention scores").hasMessageContaining("over axis 2");
    }

    @Test
    void keyNotTransposedIsRefused() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        Onnx.NodeProto.Builder transpose = b.getGraphBuilder()
                .getNodeBuilder(nodeIndex("/encoder/layer.0/attention/self/Transpose_2"));
        transpose.setAttribute(0, transpose.getAttribute(0).toBuilder().clearInts().addInts(0).addInts(2).addInts(1)
                .addInts(3));
        assertThatThrownBy(() -> BertEncoder.of(b.build(), "perm.onnx")).isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("layer 0: the KEY heads are transposed by [0, 2, 1, 3]");
    }

    @Test
    void aMissingResidualIsRefused() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        Onnx.NodeProto.Builder add = b.getGraphBuilder().getNodeBuilder(nodeIndex("/encoder/layer.4/output/Add"));
        // The FFN's skip connection now comes from the layer input instead of the attention block's output.
        add.setInput(1, "/encoder/layer.3/output/LayerNorm/Add_1_output_0");
        assertThatThrownBy(() -> BertEncoder.of(b.build(), "residual.onnx"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("layer 4: Add '/encoder/layer.4/output/Add' adds '/encoder/layer.3/output/LayerNorm/"
                        + "Add_1_output_0', not the residual '/encoder/layer.4/attention/output/LayerNorm/Add_1_output_0'");
    }

    /** The position-id table as a {@code Constant} node (optimum / Xenova exports) instead of an initializer. */
    @Test
    void positionIdsMayBeAConstantNode() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        Onnx.GraphProto.Builder g = b.getGraphBuilder();
        int at = -1;
        for (int i = 0; i < g.getInitializerCount(); i++) {
            if (g.getInitializer(i).getName().equals("embeddings.position_ids")) {
                at = i;
            }
        }
        Onnx.TensorProto table = g.getInitializer(at);
        g.removeInitializer(at);
        g.addNode(0, Onnx.NodeProto.newBuilder().setOpType("Constant").setName("position_ids_constant")
                .addOutput(table.getName()).addAttribute(Onnx.AttributeProto.newBuilder().setName("value")
                        .setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(table)));
        BertEncoder constant = BertEncoder.of(b.build(), "constant.onnx");
        assertThat(constant.config()).isEqualTo(original.config());
        assertThat(constant.parameter("embeddings.position_embeddings.weight"))
                .isEqualTo(original.parameter("embeddings.position_embeddings.weight"));
    }

    /** Depth is where the walk meets the graph output: MiniLM cut after layer 2 is a 3-layer encoder. */
    @Test
    void depthIsReadFromTheGraph() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        b.getGraphBuilder().getOutputBuilder(0).setName("/encoder/layer.2/output/LayerNorm/Add_1_output_0");
        BertEncoder three = BertEncoder.of(b.build(), "three.onnx");
        assertThat(three.config().layers()).isEqualTo(3);
        assertThat(three.layerCount()).isEqualTo(3);
        TokenBatch batch = new TokenBatch(1, 4, new int[]{101, 7592, 2088, 102}, new int[]{1, 1, 1, 1}, new int[4]);
        INDArray hidden = original.embeddings(batch);
        for (int layer = 0; layer < 3; layer++) {
            hidden = original.layerForward(layer, hidden, batch, null);
        }
        assertThat(three.forward(batch).reshape(4, 384)).isEqualTo(hidden);
    }

    /**
     * Heads are read from the graph's Reshape constants: MiniLM rewritten to split its 384 dimensions into 6
     * heads of 64 (a different model, same weights) still agrees with ONNX Runtime running the rewritten file.
     */
    @Test
    void headCountIsReadFromTheGraph() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        Onnx.GraphProto.Builder g = b.getGraphBuilder();
        Map<String, Long> rewrite = new HashMap<>();
        for (Onnx.NodeProto n : model.getGraph().getNodeList()) {
            if (n.getOpType().equals("Concat") && n.getInputCount() == 4 && n.getName().contains("attention/self")) {
                rewrite.put(n.getInput(2), 6L);
                rewrite.put(n.getInput(3), 64L);
            }
        }
        assertThat(rewrite).hasSize(6 * 3 * 2);
        for (int i = 0; i < g.getNodeCount(); i++) {
            Onnx.NodeProto.Builder n = g.getNodeBuilder(i);
            Long value = n.getOutputCount() == 1 ? rewrite.get(n.getOutput(0)) : null;
            if (value != null) {
                Onnx.TensorProto t = Onnx.TensorProto.newBuilder().setDataType(7).addDims(1).addInt64Data(value)
                        .build();
                n.setAttribute(0, n.getAttribute(0).toBuilder().setT(t));
            }
        }
        byte[] bytes = b.build().toByteArray();
        BertEncoder sixHeads = BertEncoder.of(b.build(), "six-heads.onnx");
        assertThat(sixHeads.config().heads()).isEqualTo(6);
        assertThat(sixHeads.config().headDim()).isEqualTo(64);
        TokenBatch batch = new TokenBatch(2, 6, new int[]{101, 1045, 5223, 2023, 999, 102, 101, 7592, 2088, 999, 102, 0},
                new int[]{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, new int[12]);
        INDArray ours = sixHeads.forward(batch);
        INDArray theirs;
        try (OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(bytes, "six-heads.onnx", 2)) {
            theirs = ort.lastHiddenState(batch);
        }
        assertThat(OnnxRuntimeAgreement.maxAbsDiffUnderMask(ours, theirs, batch)).isLessThan(1e-4);
        assertThat(OnnxRuntimeAgreement.maxAbsDiffUnderMask(ours, original.forward(batch), batch))
                .as("6 heads compute another function than 12").isGreaterThan(1e-2);
    }

    @Test
    void anUnexpectedPatternNamesTheNodeAndOp() {
        Onnx.ModelProto.Builder b = model.toBuilder();
        b.getGraphBuilder().getNodeBuilder(nodeIndex("/encoder/layer.1/attention/self/Div")).setOpType("Mul");
        assertThatThrownBy(() -> BertEncoder.of(b.build(), "mul.onnx")).isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("mul.onnx: not the BERT encoder graph quant4j reads: layer 1 attention scores: "
                        + "expected one Div reading '/encoder/layer.1/attention/self/MatMul_output_0', found 0 "
                        + "(readers: [Mul '/encoder/layer.1/attention/self/Div'])")
                .hasMessageNotContaining("\n");
    }

    @Test
    void bytesThatAreNoModelAreCorrupt() {
        byte[] garbage = "this is not an ONNX model".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> BertEncoder.read(new ByteArrayInputStream(garbage), "garbage.onnx"))
                .isInstanceOf(CorruptFileException.class).hasMessageContaining("garbage.onnx");
        assertThatThrownBy(() -> BertEncoder.read(Path.of("/nonexistent/model.onnx")))
                .isInstanceOf(CorruptFileException.class).hasMessageContaining("/nonexistent/model.onnx");
    }
}
