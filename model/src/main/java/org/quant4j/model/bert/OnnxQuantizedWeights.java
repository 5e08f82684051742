package org.quant4j.model.bert;

import java.io.ByteArrayInputStream;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import onnx.Onnx;

/**
 * What a quantized ONNX model stores for its weights, counted from the graph rather than guessed. Dense weights:
 * those of {@code MatMulInteger} nodes (ONNX Runtime's dynamic quantization: int8/uint8 codes, per-column or
 * per-tensor scale, zero point), of {@code com.microsoft.MatMulNBits} nodes (packed codes, block scales, zero points,
 * {@code g_idx} or the index of a {@code Gather} reordering their input) and int8/uint8 initializers dequantized by a {@code DequantizeLinear} feeding a MatMul (quant4j's
 * ONNX export). Embedding tables: read through {@code Gather -> DequantizeLinear} (codes with a per-tensor scale
 * and zero point) or {@code com.microsoft.GatherBlockQuantized}. Each is counted with every byte it stores: codes,
 * scales and zero points at their ONNX element sizes (1 byte for int8/uint8, 4 for float and int32).
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
 * @param weightOps          op type -> number of quantized weights and tables it reads
 */
public record OnnxQuantizedWeights(long fileBytes, int matMulWeights, long matMulElements, long matMulBytes,
                                   long embeddingElements, long embeddingBytes, SortedMap<String, Integer> weightOps) {
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
        SortedMap<String, Integer> ops = new TreeMap<>();
        for (Onnx.NodeProto node : g.nodes()) {
            String op = node.getOpType();
            if (op.equals("MatMulNBits")) {
                long n = intAttribute(node, "K") * intAttribute(node, "N");
                weights++;
                elements += n;
                bytes += storedBytes(g, node, 1) + storedBytes(g, node, 2) + storedBytes(g, node, 3)
                        + storedBytes(g, node, 4);
                Onnx.NodeProto reorder = g.producer(node.getInput(0)); // act-order as reordered inputs
                if (reorder != null && reorder.getOpType().equals("Gather") && g.isInitializer(reorder.getInput(1))) {
                    bytes += storedBytes(g, reorder, 1);
                }
            } else if (op.equals("GatherBlockQuantized")) {
                String table = node.getInput(0);
                requireCodes(g, node, table);
                embElements += g.elements(table) * 8 / intAttribute(node, "bits");
                embBytes += storedBytes(g, node, 0) + storedBytes(g, node, 2) + storedBytes(g, node, 3);
            } else if (op.equals("DequantizeLinear") && g.isInitializer(node.getInput(0))) {
                requireCodes(g, node, node.getInput(0));
                requireFloat(g, node, node.getInput(1));
                weights++;
                elements += g.elements(node.getInput(0));
                bytes += storedBytes(g, node, 0) + storedBytes(g, node, 1) + storedBytes(g, node, 2);
            } else if (op.equals("MatMulInteger")) {
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
            } else {
                continue;
            }
            ops.merge(op, 1, Integer::sum);
        }
        return new OnnxQuantizedWeights(onnx.length, weights, elements, bytes, embElements, embBytes,
                Collections.unmodifiableSortedMap(ops));
    }

    /** Bytes of the node's input {@code index} when it is an initializer (0 when absent). */
    private static long storedBytes(OnnxGraph g, Onnx.NodeProto node, int index) {
        if (node.getInputCount() <= index || node.getInput(index).isEmpty()) {
            return 0;
        }
        String t = node.getInput(index);
        if (!g.isInitializer(t)) {
            throw unsupported(g, node, "reads '" + t + "' (input " + index + "), expected an initializer");
        }
        int type = g.dataType(t);
        return g.elements(t) * (type == INT8 || type == UINT8 ? 1 : 4);
    }

    private static long intAttribute(Onnx.NodeProto node, String name) {
        for (Onnx.AttributeProto a : node.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        throw new UnsupportedModelException(node.getOpType() + " node '" + node.getName() + "' has no attribute " + name);
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
