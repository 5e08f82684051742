package org.quant4j.model.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import onnx.Onnx;
import org.quant4j.core.QuantizedTensor;

/**
 * Rewrites {@code Y = MatMul(A, B)} with an fp32 weight initializer {@code B [in, out]} so that it runs on the
 * quantized weight as stored ({@code [out, in]}, a {@link QuantizedTensor}):
 * <ul>
 *   <li>INT in groups → one {@code com.microsoft.MatMulNBits} ({@link MatMulNBitsWeight});</li>
 *   <li>INT per channel or per tensor → {@code com.microsoft.DequantizeLinear} → the original MatMul
 *       ({@link DequantizeLinearWeight});</li>
 *   <li>anything else (NF4, FP8, FP4, ternary) is refused naming the tensor: ONNX Runtime has no kernel for it.</li>
 * </ul>
 * An AWQ input scale {@code s} (the stored weight is {@code W·diag(s)}, so the layer computes
 * {@code (A / s) · dequantize(B)ᵀ}) becomes a {@code Div} of A by {@code s} before the product. A GPTQ act-order
 * tensor is written, by default, with its input features reordered ({@link ActOrderPermutation}: a {@code Gather} of
 * A along its last axis, then MatMulNBits on consecutive groups), which runs ONNX Runtime's packed kernel at any
 * supported width and stores packed zero points; or, when asked, with MatMulNBits' {@code g_idx} input (4 bits only,
 * unpacked kernel, float zero points: see {@link MatMulNBitsWeight}). Nodes after the MatMul (the bias Add) are left
 * as they are.
 */
public final class QuantizedMatMul {
    /** How a weight was written. */
    public enum Encoding { MATMUL_NBITS, DEQUANTIZE_LINEAR }

    private QuantizedMatMul() {
    }

    /**
     * Checks that ONNX Runtime can run {@code q} and says how it will be written, without touching a graph.
     *
     * @throws OnnxExportException naming the tensor when it cannot
     */
    public static Encoding plan(String name, QuantizedTensor q, boolean groupIndexInput) {
        if (MatMulNBitsWeight.isGroupWise(q.spec())) {
            MatMulNBitsWeight.of(name, q.hasGroupIndex() && !groupIndexInput ? ActOrderPermutation.of(q).tensor() : q);
            return Encoding.MATMUL_NBITS;
        }
        if (DequantizeLinearWeight.isPerChannelOrTensor(q.spec())) {
            DequantizeLinearWeight.of(name, q);
            return Encoding.DEQUANTIZE_LINEAR;
        }
        throw new OnnxExportException("tensor '" + name + "' (" + q.spec() + "): ONNX Runtime has no kernel for "
                + q.spec().format() + " weights (MatMulNBits takes INT groups, DequantizeLinear INT per channel or "
                + "per tensor)");
    }

    /**
     * Rewrites the MatMul that reads the initializer {@code weight} as its B.
     *
     * @param name          the tensor's name, prefix of the new initializers and nodes
     * @param inputScale    AWQ's per-input-channel scale {@code [in]}, or null
     * @param accuracyLevel MatMulNBits' {@code accuracy_level} (see {@link MatMulNBitsWeight})
     * @param groupIndexInput write an act-order tensor with MatMulNBits' {@code g_idx} instead of reordered inputs
     * @throws OnnxExportException naming the tensor when the graph or the spec does not fit
     */
    public static Encoding rewrite(OnnxGraphEditor g, String weight, String name, QuantizedTensor q, float[] inputScale,
                                   int accuracyLevel, boolean groupIndexInput) {
        ActOrderPermutation reorder = q.hasGroupIndex() && !groupIndexInput && MatMulNBitsWeight.isGroupWise(q.spec())
                ? ActOrderPermutation.of(q) : null;
        QuantizedTensor written = reorder == null ? q : reorder.tensor();
        Encoding encoding = plan(name, written, groupIndexInput);
        Onnx.NodeProto matMul = g.soleConsumer(weight, "MatMul", 1);
        long[] dims = g.dims(weight);
        long[] expected = {q.cols(), q.rows()};
        if (!Arrays.equals(dims, expected)) {
            throw new OnnxExportException(g.source() + ": MatMul weight '" + weight + "' is " + Arrays.toString(dims)
                    + " but tensor '" + name + "' " + Arrays.toString(q.shape()) + " needs " + Arrays.toString(expected)
                    + " [in, out]");
        }
        List<Onnx.NodeProto> nodes = new ArrayList<>();
        List<Onnx.TensorProto> tensors = new ArrayList<>();
        String a = matMul.getInput(0);
        if (inputScale != null) {
            a = divide(g, name, a, inputScale, Math.toIntExact(q.cols()), nodes, tensors);
        }
        if (reorder != null) {
            a = gather(g, name, a, reorder.order(), nodes, tensors);
        }
        String prefix = g.freshName(name);
        if (encoding == Encoding.MATMUL_NBITS) {
            MatMulNBitsWeight w = MatMulNBitsWeight.of(name, written);
            tensors.addAll(w.initializers(prefix));
            nodes.add(w.node(g.freshName(name + "_MatMulNBits"), a, matMul.getOutput(0), prefix, accuracyLevel));
            g.requireOpset(MatMulNBitsWeight.DOMAIN, 1);
        } else {
            DequantizeLinearWeight w = DequantizeLinearWeight.of(name, written);
            tensors.addAll(w.initializers(prefix));
            String dequantized = g.freshName(prefix + "_dequantized");
            nodes.add(w.node(g.freshName(name + "_DequantizeLinear"), prefix, dequantized));
            nodes.add(matMul.toBuilder().setInput(0, a).setInput(1, dequantized).build());
            g.requireOpset(DequantizeLinearWeight.DOMAIN, 1);
        }
        g.add(tensors);
        g.replace(matMul, nodes);
        g.removeIfUnused(weight);
        return encoding;
    }

    /** {@code a / s} (AWQ's input scale); returns the new input's name. */
    private static String divide(OnnxGraphEditor g, String name, String a, float[] s, int inputs,
                                 List<Onnx.NodeProto> nodes, List<Onnx.TensorProto> tensors) {
        if (s.length != inputs) {
            throw new OnnxExportException("input scale of '" + name + "' has " + s.length + " values, the weight "
                    + inputs + " inputs");
        }
        String scale = g.freshName(name + "_input_scale");
        String scaled = g.freshName(name + "_scaled_input");
        tensors.add(OnnxTensors.floats(scale, new long[]{s.length}, s));
        nodes.add(Onnx.NodeProto.newBuilder().setName(g.freshName(name + "_Div")).setOpType("Div")
                .addInput(a).addInput(scale).addOutput(scaled).build());
        return scaled;
    }

    /** {@code a[..., order]}: the input features in the order of the reordered weight; returns the new input's name. */
    private static String gather(OnnxGraphEditor g, String name, String a, int[] order, List<Onnx.NodeProto> nodes,
                                 List<Onnx.TensorProto> tensors) {
        String indices = g.freshName(name + "_input_order");
        String reordered = g.freshName(name + "_reordered_input");
        tensors.add(OnnxTensors.ints(indices, new long[]{order.length}, order));
        nodes.add(Onnx.NodeProto.newBuilder().setName(g.freshName(name + "_Gather")).setOpType("Gather")
                .addInput(a).addInput(indices).addOutput(reordered)
                .addAttribute(OnnxTensors.intAttribute("axis", -1)).build());
        return reordered;
    }
}
