package org.quant4j.model.onnx;

import java.util.ArrayList;
import java.util.List;
import onnx.Onnx;
import org.quant4j.core.BitPacker;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * A per-channel or per-tensor INT weight {@code [out, in]} as a MatMul operand {@code B = Wᵀ [in, out]} that a
 * {@code DequantizeLinear} node ({@code y = (x − zero_point) · scale}) turns back into floats: one byte per code,
 * the scale (and zero point) per output channel along {@code axis = 1} of B. Symmetric codes {@code c} (zero point
 * {@code 2^(b−1)}, not stored) become int8 {@code c − 2^(b−1)} without a zero point; asymmetric ones stay uint8
 * with their uint8 zero points. Codes of fewer than 8 bits take a byte each (exact, not packed).
 *
 * <p>The node is ONNX Runtime's {@code com.microsoft.DequantizeLinear} (ONNX Runtime {@code docs/ContribOperators.md},
 * {@code com.microsoft.DequantizeLinear}, with an {@code axis} attribute since version 1): the standard op has
 * {@code axis} only from opset 13, and the PyTorch BERT exports are opset 11 — raising their opset would change the
 * meaning of their {@code Unsqueeze}, {@code Softmax} and other nodes. The dequantized values are bit for bit those
 * of {@link QuantizedTensor#dequantize()}: {@code (c − z)} is an exact small integer and the product with the same
 * float scale rounds once in both.
 */
public final class DequantizeLinearWeight {
    public static final String DOMAIN = "com.microsoft";
    public static final String OP = "DequantizeLinear";

    private final QuantizedTensor q;
    private final int out;
    private final int in;

    private DequantizeLinearWeight(QuantizedTensor q) {
        this.q = q;
        this.out = Math.toIntExact(q.rows());
        this.in = Math.toIntExact(q.cols());
    }

    /** Whether {@code spec} is INT per channel or per tensor. */
    public static boolean isPerChannelOrTensor(QuantSpec spec) {
        return spec.format() == Format.INT && spec.granularity().kind() != Granularity.Kind.GROUP;
    }

    /**
     * @throws OnnxExportException naming the tensor when it is not a 2-D INT tensor per channel or per tensor with
     *                             integer zero points
     */
    public static DequantizeLinearWeight of(String name, QuantizedTensor q) {
        QuantSpec spec = q.spec();
        if (!isPerChannelOrTensor(spec) || q.shape().length != 2) {
            throw new OnnxExportException("tensor '" + name + "' (" + spec + "): DequantizeLinear takes a 2-D INT weight "
                    + "quantized per channel or per tensor");
        }
        if (!spec.symmetric() && spec.zeroEncoding() != NumberEncoding.UINT) {
            throw new OnnxExportException("tensor '" + name + "' (" + spec + "): DequantizeLinear needs integer zero "
                    + "points; fractional ones (" + spec.zeroEncoding() + ") run only as 4-bit groups (MatMulNBits)");
        }
        return new DequantizeLinearWeight(q);
    }

    /** The initializers {@code prefix + "_quantized"} ({@code [in, out]}), {@code _scale}, {@code _zero_point}. */
    public List<Onnx.TensorProto> initializers(String prefix) {
        int bits = q.spec().bits();
        byte[] codes = new byte[out * in];
        BitPacker.unpack(q.codes(), codes.length, bits, codes);
        boolean symmetric = q.spec().symmetric();
        int offset = symmetric ? 1 << (bits - 1) : 0;
        byte[] transposed = new byte[codes.length];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                transposed[i * out + o] = (byte) ((codes[o * in + i] & 0xFF) - offset);
            }
        }
        boolean perChannel = q.spec().granularity().kind() == Granularity.Kind.CHANNEL;
        long[] paramDims = perChannel ? new long[]{out} : new long[0];
        List<Onnx.TensorProto> list = new ArrayList<>();
        list.add(OnnxTensors.bytes(prefix + "_quantized", symmetric ? OnnxTensors.INT8 : OnnxTensors.UINT8,
                new long[]{in, out}, transposed));
        list.add(OnnxTensors.floats(prefix + "_scale", paramDims, q.scales().values()));
        if (!symmetric) {
            float[] zeros = q.zeros().values();
            byte[] z = new byte[zeros.length];
            for (int i = 0; i < z.length; i++) {
                z[i] = (byte) (int) zeros[i];
            }
            list.add(OnnxTensors.bytes(prefix + "_zero_point", OnnxTensors.UINT8, paramDims, z));
        }
        return list;
    }

    /** The node writing the float weight {@code [in, out]} to {@code output}. */
    public Onnx.NodeProto node(String nodeName, String prefix, String output) {
        Onnx.NodeProto.Builder node = Onnx.NodeProto.newBuilder().setName(nodeName).setOpType(OP).setDomain(DOMAIN)
                .addInput(prefix + "_quantized").addInput(prefix + "_scale");
        if (!q.spec().symmetric()) {
            node.addInput(prefix + "_zero_point");
        }
        node.addOutput(output);
        if (q.spec().granularity().kind() == Granularity.Kind.CHANNEL) {
            node.addAttribute(OnnxTensors.intAttribute("axis", 1));
        }
        return node.build();
    }
}
