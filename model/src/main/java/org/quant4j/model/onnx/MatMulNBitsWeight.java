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
 * A group-wise INT weight as the inputs of ONNX Runtime's {@code com.microsoft.MatMulNBits} (ONNX Runtime
 * {@code docs/ContribOperators.md}, {@code com.microsoft.MatMulNBits}, opset 1 of domain {@code com.microsoft}):
 * {@code Y = A · dequantize(B)ᵀ} with the weight {@code [N, K]} ({@code [out, in]}, our layout) quantized in
 * blocks of {@code block_size} along K, each value {@code (code − zero_point) · scale}.
 *
 * <ul>
 *   <li>{@code B}: uint8 {@code [N, k_blocks, blob_size]}, {@code blob_size = block_size·bits/8}, codes packed
 *       along K, first code in the low bits. That is exactly our {@link QuantizedTensor#codes()} (one little-endian
 *       bitstream over the row-major {@code [N, K]} codes, groups of {@code g} columns) whenever
 *       {@code g·bits} is a multiple of 8, so the codes are written as they are stored.</li>
 *   <li>{@code scales}: float {@code [N, k_blocks]}, our scales decoded (FP16 scales are exact in float).</li>
 *   <li>{@code zero_points}: asymmetric integer zero points packed like B per row, uint8
 *       {@code [N, ceil(k_blocks·bits/8)]}; fractional zero points (HQQ's FP16/FP32 zero encoding) as float
 *       {@code [N, k_blocks]}; absent when symmetric — ONNX Runtime's default zero point is {@code 2^(bits−1)},
 *       which is the constant zero point of our symmetric codes ({@code IntGrid}).</li>
 *   <li>{@code g_idx}: int32 {@code [K]}, GPTQ act-order's group index ({@link QuantizedTensor#groupIndex()}).</li>
 * </ul>
 *
 * <p>What ONNX Runtime 1.23.2's CPU kernel runs, measured on random weights against an exact reference (and
 * enforced here, each refusal naming the tensor): bits 4 and 8 only (2 and 3 are rejected at session creation,
 * "Only 4b and 8b quantization is supported"); {@code block_size} a power of two ≥ 16; a group index or fractional
 * zero points with 4 bits only (the unpacked path is 4-bit only). With a group index, packed uint8 zero points
 * gave wrong products (max error 6.9 on outputs of 11) while float zero points were exact, so act-order tensors
 * written with {@code g_idx} carry their integer zero points as floats (exact: small integers). By default act-order
 * tensors are not written so but on reordered inputs ({@link ActOrderPermutation}, {@link QuantizedMatMul}).
 *
 * <p>{@code accuracy_level} 0 (the default here) computes in fp32 from the dequantized blocks; 4 lets the CPU
 * kernel quantize A to int8 per block and run an int8 dot product — faster, but in the same measurement it
 * moved outputs by ~5e-3 relative (4.7e-2 on values of 10), far beyond the export check's tolerance.
 */
public final class MatMulNBitsWeight {
    public static final String DOMAIN = "com.microsoft";
    public static final String OP = "MatMulNBits";

    private final String name;
    private final QuantizedTensor q;
    private final int n;
    private final int k;
    private final int blockSize;
    private final int blocks;

    private MatMulNBitsWeight(String name, QuantizedTensor q) {
        this.name = name;
        this.q = q;
        this.n = Math.toIntExact(q.rows());
        this.k = Math.toIntExact(q.cols());
        this.blockSize = q.spec().granularity().groupSize();
        this.blocks = k / blockSize;
    }

    /** Whether {@code spec} is group-wise INT, the only layout MatMulNBits has (others may go elsewhere). */
    public static boolean isGroupWise(QuantSpec spec) {
        return spec.format() == Format.INT && spec.granularity().kind() == Granularity.Kind.GROUP;
    }

    /**
     * @param name the tensor, for errors
     * @throws OnnxExportException naming the tensor when ONNX Runtime's CPU kernel cannot run its spec
     */
    public static MatMulNBitsWeight of(String name, QuantizedTensor q) {
        QuantSpec spec = q.spec();
        if (!isGroupWise(spec) || q.shape().length != 2) {
            throw refuse(name, spec, "MatMulNBits takes a 2-D INT weight quantized in groups along K");
        }
        int bits = spec.bits();
        int g = spec.granularity().groupSize();
        if (bits != 4 && bits != 8) {
            throw refuse(name, spec, "ONNX Runtime 1.23's CPU MatMulNBits runs 4- and 8-bit weights only");
        }
        if (g < 16 || Integer.bitCount(g) != 1) {
            throw refuse(name, spec, "MatMulNBits needs a block size that is a power of two >= 16, not " + g);
        }
        boolean fractionalZeros = !spec.symmetric() && spec.zeroEncoding() != NumberEncoding.UINT;
        if (bits != 4 && (q.hasGroupIndex() || fractionalZeros)) {
            throw refuse(name, spec, "ONNX Runtime 1.23's CPU MatMulNBits takes "
                    + (q.hasGroupIndex() ? "a group index (act-order g_idx)" : "fractional zero points")
                    + " with 4-bit weights only");
        }
        return new MatMulNBitsWeight(name, q);
    }

    private static OnnxExportException refuse(String name, QuantSpec spec, String why) {
        return new OnnxExportException("tensor '" + name + "' (" + spec + "): " + why);
    }

    /** The initializers, named {@code prefix + "_B"}, {@code _scales}, {@code _zero_points}, {@code _g_idx}. */
    public List<Onnx.TensorProto> initializers(String prefix) {
        int bits = q.spec().bits();
        List<Onnx.TensorProto> out = new ArrayList<>();
        out.add(OnnxTensors.bytes(prefix + "_B", OnnxTensors.UINT8, new long[]{n, blocks, (long) blockSize * bits / 8},
                q.codes()));
        out.add(OnnxTensors.floats(prefix + "_scales", new long[]{n, blocks}, q.scales().values()));
        if (!q.spec().symmetric()) {
            out.add(floatZeroPoints() ? OnnxTensors.floats(prefix + "_zero_points", new long[]{n, blocks},
                    q.zeros().values()) : packedZeroPoints(prefix + "_zero_points", bits));
        }
        if (q.hasGroupIndex()) {
            out.add(OnnxTensors.ints(prefix + "_g_idx", new long[]{k}, q.groupIndex()));
        }
        return out;
    }

    /** The node computing {@code output = a · W}ᵀ from the initializers of {@link #initializers(String)}. */
    public Onnx.NodeProto node(String nodeName, String a, String output, String prefix, int accuracyLevel) {
        Onnx.NodeProto.Builder node = Onnx.NodeProto.newBuilder().setName(nodeName).setOpType(OP).setDomain(DOMAIN)
                .addInput(a).addInput(prefix + "_B").addInput(prefix + "_scales")
                .addInput(q.spec().symmetric() ? "" : prefix + "_zero_points")
                .addOutput(output)
                .addAttribute(OnnxTensors.intAttribute("K", k))
                .addAttribute(OnnxTensors.intAttribute("N", n))
                .addAttribute(OnnxTensors.intAttribute("bits", q.spec().bits()))
                .addAttribute(OnnxTensors.intAttribute("block_size", blockSize))
                .addAttribute(OnnxTensors.intAttribute("accuracy_level", accuracyLevel));
        if (q.hasGroupIndex()) {
            node.addInput(prefix + "_g_idx");
        }
        return node.build();
    }

    /** Float zero points: fractional ones, and integer ones under a group index (see the class comment). */
    private boolean floatZeroPoints() {
        return q.spec().zeroEncoding() != NumberEncoding.UINT || q.hasGroupIndex();
    }

    private Onnx.TensorProto packedZeroPoints(String tensorName, int bits) {
        float[] zeros = q.zeros().values();
        int rowBytes = (blocks * bits + 7) / 8;
        byte[] packed = new byte[n * rowBytes];
        byte[] row = new byte[blocks];
        for (int r = 0; r < n; r++) {
            for (int b = 0; b < blocks; b++) {
                row[b] = (byte) (int) zeros[r * blocks + b];
            }
            BitPacker.pack(row, 0, blocks, bits, packed, r * rowBytes);
        }
        return OnnxTensors.bytes(tensorName, OnnxTensors.UINT8, new long[]{n, rowBytes}, packed);
    }

    @Override
    public String toString() {
        return OP + "[" + name + ", N " + n + ", K " + k + ", " + q.spec().bits() + " bits, block " + blockSize
                + (q.hasGroupIndex() ? ", g_idx" : "") + "]";
    }
}
