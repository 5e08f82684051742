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
 * An embedding table {@code [rows, width]} stored quantized and looked up by {@code Gather(table, ids)}'s
 * replacement, which dequantizes only the rows looked up:
 * <ul>
 *   <li>INT groups along the width → ONNX Runtime's {@code com.microsoft.GatherBlockQuantized} (ONNX Runtime
 *       {@code docs/ContribOperators.md}, {@code com.microsoft.GatherBlockQuantized}) with {@code gather_axis = 0},
 *       {@code quantize_axis = 1}: {@code data} uint8 {@code [rows, width·bits/8]} is our codes as stored (one
 *       little-endian bitstream, first code in the low bits), {@code scales} float {@code [rows, width/block]}.
 *       4 or 8 bits, blocks a power of two ≥ 16 (the kernel's rules). Symmetric tables have no zero-point input: the
 *       kernel then uses {@code 2^(bits−1)}, the zero point of our symmetric codes; asymmetric ones have uint8 zero
 *       points packed per row like the data. With 4-bit zero points ONNX Runtime 1.23.2 read them wrongly when a
 *       row has an odd number of blocks (measured: 3 blocks of 128; 12 blocks of 32 were exact), so that case is
 *       refused.</li>
 *   <li>INT8 per tensor → {@code Gather} of the int8/uint8 codes, then the standard {@code DequantizeLinear}
 *       (opset 10, per tensor): ONNX Runtime's own dynamic-int8 export stores its tables so.</li>
 * </ul>
 * The looked-up values equal {@link QuantizedTensor#dequantize()} exactly (measured: max difference 0).
 */
public final class QuantizedTable {
    public static final String DOMAIN = "com.microsoft";

    private QuantizedTable() {
    }

    /** @throws OnnxExportException naming the table when neither form takes {@code spec} */
    public static void check(String name, QuantSpec spec) {
        Granularity.Kind kind = spec.granularity().kind();
        boolean intFormat = spec.format() == Format.INT;
        if (intFormat && kind == Granularity.Kind.TENSOR && spec.bits() == 8
                && (spec.symmetric() || spec.zeroEncoding() == NumberEncoding.UINT)) {
            return;
        }
        if (!intFormat || kind != Granularity.Kind.GROUP || (spec.bits() != 4 && spec.bits() != 8)
                || (!spec.symmetric() && spec.zeroEncoding() != NumberEncoding.UINT)) {
            throw new OnnxExportException("table '" + name + "' (" + spec + "): a quantized table is INT8 per tensor "
                    + "(Gather + DequantizeLinear) or 4- or 8-bit INT groups with integer zero points "
                    + "(GatherBlockQuantized)");
        }
        int g = spec.granularity().groupSize();
        if (g < 16 || Integer.bitCount(g) != 1) {
            throw new OnnxExportException("table '" + name + "' (" + spec + "): GatherBlockQuantized needs a block "
                    + "size that is a power of two >= 16, not " + g);
        }
    }

    /** Checks what only the table's width tells: whether 4-bit zero points fill whole bytes per row. */
    private static void checkWidth(String name, QuantSpec spec, long width) {
        if (spec.symmetric() || spec.bits() != 4 || spec.granularity().kind() != Granularity.Kind.GROUP) {
            return;
        }
        long blocks = width / spec.granularity().groupSize();
        if (blocks % 2 != 0) {
            throw new OnnxExportException("table '" + name + "' (" + spec + "): its rows have " + blocks + " blocks; "
                    + "ONNX Runtime 1.23's GatherBlockQuantized misreads 4-bit zero points of an odd number of blocks "
                    + "per row, so use a symmetric spec or blocks that divide the width an even number of times");
        }
    }

    /** Replaces the Gather that reads the initializer {@code table} as its data by a lookup of {@code q}. */
    public static void rewrite(OnnxGraphEditor g, String table, QuantizedTensor q) {
        check(table, q.spec());
        checkWidth(table, q.spec(), q.cols());
        Onnx.NodeProto gather = g.soleConsumer(table, "Gather", 0);
        for (Onnx.AttributeProto a : gather.getAttributeList()) {
            if (a.getName().equals("axis") && a.getI() != 0) {
                throw new OnnxExportException(g.source() + ": Gather '" + gather.getName() + "' of table '" + table
                        + "' is along axis " + a.getI() + ", not the rows");
            }
        }
        String prefix = g.freshName(table + "_quantized");
        List<Onnx.NodeProto> nodes = q.spec().granularity().kind() == Granularity.Kind.GROUP
                ? blockQuantized(g, gather, prefix, q) : perTensor(g, gather, prefix, q);
        g.replace(gather, nodes);
        g.removeIfUnused(table);
    }

    private static List<Onnx.NodeProto> blockQuantized(OnnxGraphEditor g, Onnx.NodeProto gather, String prefix,
                                                       QuantizedTensor q) {
        int rows = Math.toIntExact(q.rows());
        int width = Math.toIntExact(q.cols());
        int bits = q.spec().bits();
        int block = q.spec().granularity().groupSize();
        int blocks = width / block;
        List<Onnx.TensorProto> tensors = new ArrayList<>(List.of(
                OnnxTensors.bytes(prefix, OnnxTensors.UINT8, new long[]{rows, (long) width * bits / 8}, q.codes()),
                OnnxTensors.floats(prefix + "_scales", new long[]{rows, blocks}, q.scales().values())));
        Onnx.NodeProto.Builder node = Onnx.NodeProto.newBuilder()
                .setName(g.freshName(gather.getName() + "_quantized")).setOpType("GatherBlockQuantized").setDomain(DOMAIN)
                .addInput(prefix).addInput(gather.getInput(1)).addInput(prefix + "_scales");
        if (!q.spec().symmetric()) {
            // uint8 zero points packed per row like the data (4 bits: two per byte, first in the low bits)
            tensors.add(OnnxTensors.bytes(prefix + "_zero_points", OnnxTensors.UINT8,
                    new long[]{rows, (long) blocks * bits / 8}, integerCodes(q.zeros().values(), bits)));
            node.addInput(prefix + "_zero_points");
        }
        g.add(tensors);
        g.requireOpset(DOMAIN, 1);
        return List.of(node.addOutput(gather.getOutput(0))
                .addAttribute(OnnxTensors.intAttribute("gather_axis", 0))
                .addAttribute(OnnxTensors.intAttribute("quantize_axis", 1))
                .addAttribute(OnnxTensors.intAttribute("block_size", block))
                .addAttribute(OnnxTensors.intAttribute("bits", bits))
                .build());
    }

    private static byte[] integerCodes(float[] values, int bits) {
        byte[] codes = new byte[values.length];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) (int) values[i];
        }
        return BitPacker.pack(codes, codes.length, bits);
    }

    private static List<Onnx.NodeProto> perTensor(OnnxGraphEditor g, Onnx.NodeProto gather, String prefix,
                                                  QuantizedTensor q) {
        boolean symmetric = q.spec().symmetric();
        byte[] codes = new byte[Math.toIntExact(q.size())];
        BitPacker.unpack(q.codes(), codes.length, 8, codes);
        if (symmetric) {
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) ((codes[i] & 0xFF) - 128);
            }
        }
        List<Onnx.TensorProto> tensors = new ArrayList<>();
        tensors.add(OnnxTensors.bytes(prefix, symmetric ? OnnxTensors.INT8 : OnnxTensors.UINT8, q.shape(), codes));
        tensors.add(OnnxTensors.floats(prefix + "_scale", new long[0], q.scales().values()));
        if (!symmetric) {
            tensors.add(OnnxTensors.bytes(prefix + "_zero_point", OnnxTensors.UINT8, new long[0],
                    integerCodes(q.zeros().values(), 8)));
        }
        g.add(tensors);
        String gathered = g.freshName(prefix + "_gathered");
        Onnx.NodeProto lookup = gather.toBuilder().setInput(0, prefix).setOutput(0, gathered).build();
        Onnx.NodeProto.Builder dq = Onnx.NodeProto.newBuilder().setName(g.freshName(gather.getName() + "_dequantize"))
                .setOpType("DequantizeLinear").addInput(gathered).addInput(prefix + "_scale");
        if (!symmetric) {
            dq.addInput(prefix + "_zero_point");
        }
        return List.of(lookup, dq.addOutput(gather.getOutput(0)).build());
    }
}
