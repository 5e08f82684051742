package org.quant4j.model.bert;

import java.io.ByteArrayInputStream;
import java.util.List;
import onnx.Onnx;

/**
 * What an ONNX Runtime quantized model stores for its weights, counted from the graph rather than guessed:
 * the weights of {@code MatMulInteger} nodes (ONNX Runtime's dynamic quantization: int8/uint8 codes, per-column
 * or per-tensor scale, zero point) and the embedding tables read through {@code Gather -> DequantizeLinear}
 * (uint8 codes with a per-tensor scale and zero point). Each weight is counted with its codes (1 byte per
 * element), its FLOAT scales (4 bytes each) and its zero points (1 byte each).
 *
 * <p>The scale of a {@code MatMulInteger} weight is not an input of that node: ONNX Runtime multiplies the
 * int32 product, cast to float, by {@code activationScale · weightScale}. It is found by following
 * {@code MatMulInteger -> Cast -> Mul(·, Mul(activationScale, weightScale))} to the FLOAT initializer.
 *
 * @param fileBytes          the size of the serialized model
 * @param matMulWeights      number of {@code MatMulInteger} weights
 * @param matMulElements     their elements
 * @param matMulBytes        their codes, scales and zero points
 * @param embeddingElements  elements of the dequantized-on-gather tables
 * @param embeddingBytes     their codes, scales and zero points
 */
public record OnnxQuantizedWeights(long fileBytes, int matMulWeights, long matMulElements, long matMulBytes,
                                   long embeddingElements, long embeddingBytes) {
    private static final int FLOAT = 1;
    private static final int UINT8 = 2;
    private static final int INT8 = 3;

    /** Bits per weight of the {@code MatMulInteger} weights, scales and zero points included. */
    public double matMulBitsPerWeight() {
        return matMulBytes * 8.0 / matMulElements;
    }

    /**
     * Counts the quantized weights of a serialized ONNX model.
     *
     * @throws UnsupportedModelException naming the node whose weight, scale or zero point is not a constant
     *                                   of the expected form (the count would then be a guess)
     */
    public static OnnxQuantizedWeights count(byte[] onnx, String source) {
        OnnxGraph g = OnnxGraph.read(new ByteArrayInputStream(onnx), source);
        int weights = 0;
        long elements = 0;
        long bytes = 0;
        long embElements = 0;
        long embBytes = 0;
        for (Onnx.NodeProto node : g.nodes()) {
            if (node.getOpType().equals("MatMulInteger")) {
                String w = node.getInput(1);
                requireCodes(g, node, w);
                long n = g.elements(w);
                long zeroBytes = node.getInputCount() > 3 && !node.getInput(3).isEmpty()
                        ? codeBytes(g, node, node.getInput(3)) : 0;
                weights++;
                elements += n;
                bytes += n + zeroBytes + 4 * g.elements(weightScale(g, node));
            } else if (node.getOpType().equals("DequantizeLinear")) {
                Onnx.NodeProto gather = g.producer(node.getInput(0));
                if (gather == null || !gather.getOpType().equals("Gather")) {
                    throw unsupported(g, node, "dequantizes '" + node.getInput(0) + "', which is not a Gather of a table");
                }
                String table = gather.getInput(0);
                requireCodes(g, gather, table);
                String scale = node.getInput(1);
                requireFloat(g, node, scale);
                long zeroBytes = node.getInputCount() > 2 && !node.getInput(2).isEmpty()
                        ? codeBytes(g, node, node.getInput(2)) : 0;
                long n = g.elements(table);
                embElements += n;
                embBytes += n + zeroBytes + 4 * g.elements(scale);
            }
        }
        return new OnnxQuantizedWeights(onnx.length, weights, elements, bytes, embElements, embBytes);
    }

    /** {@code MatMulInteger -> Cast -> Mul(cast, s)} with {@code s = Mul(activationScale, weightScale)}. */
    private static String weightScale(OnnxGraph g, Onnx.NodeProto matMul) {
        for (Onnx.NodeProto cast : g.consumers(matMul.getOutput(0))) {
            if (!cast.getOpType().equals("Cast")) {
                continue;
            }
            for (Onnx.NodeProto mul : g.consumers(cast.getOutput(0))) {
                if (!mul.getOpType().equals("Mul")) {
                    continue;
                }
                for (String in : mul.getInputList()) {
                    Onnx.NodeProto scaleMul = g.producer(in);
                    if (scaleMul != null && scaleMul.getOpType().equals("Mul")) {
                        for (String s : scaleMul.getInputList()) {
                            if (g.isInitializer(s) && g.dataType(s) == FLOAT) {
                                return s;
                            }
                        }
                    }
                }
            }
        }
        throw unsupported(g, matMul, "has no weight scale reachable as MatMulInteger -> Cast -> Mul(·, Mul(a, "
                + "FLOAT initializer))");
    }

    private static void requireCodes(OnnxGraph g, Onnx.NodeProto node, String tensor) {
        if (!g.isInitializer(tensor) || !List.of(INT8, UINT8).contains(g.dataType(tensor))) {
            throw unsupported(g, node, "reads '" + tensor + "', expected an INT8 or UINT8 initializer");
        }
    }

    private static long codeBytes(OnnxGraph g, Onnx.NodeProto node, String tensor) {
        requireCodes(g, node, tensor);
        return g.elements(tensor);
    }

    private static void requireFloat(OnnxGraph g, Onnx.NodeProto node, String tensor) {
        if (!g.isInitializer(tensor) || g.dataType(tensor) != FLOAT) {
            throw unsupported(g, node, "reads scale '" + tensor + "', expected a FLOAT initializer");
        }
    }

    private static UnsupportedModelException unsupported(OnnxGraph g, Onnx.NodeProto node, String what) {
        return new UnsupportedModelException(g.source() + ": " + node.getOpType() + " node '" + node.getName() + "' "
                + what);
    }
}
