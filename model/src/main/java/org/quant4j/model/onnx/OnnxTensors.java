package org.quant4j.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;

/**
 * Builds the protobuf pieces of an ONNX graph (the ONNX classes bundled in nd4j-api, {@code onnx.Onnx}):
 * initializers as little-endian {@code raw_data} (ONNX IR spec, {@code TensorProto}) and integer attributes.
 */
public final class OnnxTensors {
    /** ONNX {@code TensorProto.DataType} codes. */
    public static final int FLOAT = 1;
    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int INT32 = 6;

    private OnnxTensors() {
    }

    public static Onnx.TensorProto floats(String name, long[] dims, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(Float.BYTES * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return raw(name, FLOAT, dims, b.array());
    }

    public static Onnx.TensorProto ints(String name, long[] dims, int[] values) {
        ByteBuffer b = ByteBuffer.allocate(Integer.BYTES * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return raw(name, INT32, dims, b.array());
    }

    /** A UINT8 or INT8 tensor of one byte per element. */
    public static Onnx.TensorProto bytes(String name, int dataType, long[] dims, byte[] values) {
        if (dataType != UINT8 && dataType != INT8) {
            throw new IllegalArgumentException("byte tensors are UINT8 or INT8, not ONNX type " + dataType);
        }
        return raw(name, dataType, dims, values);
    }

    private static Onnx.TensorProto raw(String name, int dataType, long[] dims, byte[] raw) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        int width = dataType == FLOAT || dataType == INT32 ? 4 : 1;
        if (n * width != raw.length) {
            throw new IllegalArgumentException("tensor '" + name + "': " + raw.length + " bytes for " + n
                    + " elements of ONNX type " + dataType);
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(dataType)
                .setRawData(ByteString.copyFrom(raw));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    public static Onnx.AttributeProto intAttribute(String name, long value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT)
                .setI(value).build();
    }
}
