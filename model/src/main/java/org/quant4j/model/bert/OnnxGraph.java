package org.quant4j.model.bert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import onnx.Onnx;
import org.nd4j.shade.protobuf.CodedInputStream;
import org.quant4j.core.io.CorruptFileException;

/**
 * An ONNX model read with the ONNX protobuf classes bundled in nd4j-api ({@code onnx.Onnx.ModelProto}),
 * indexed for walking its graph: who produces and who consumes each tensor, which tensors are
 * initializers, and the values of initializers and {@code Constant} nodes decoded to Java arrays.
 *
 * <p>Only what a weight reader needs is decoded: FLOAT (1) and INT64 (7) tensors stored as
 * little-endian {@code raw_data} or in the typed repeated fields (ONNX IR spec, {@code TensorProto}).
 * Tensors in external files are rejected with a clear error.
 */
final class OnnxGraph {
    private static final int FLOAT = 1;
    private static final int INT64 = 7;

    private final String source;
    private final Onnx.GraphProto graph;
    private final Map<String, Onnx.TensorProto> initializers = new HashMap<>();
    private final Map<String, Onnx.NodeProto> producers = new HashMap<>();
    private final Map<String, List<Onnx.NodeProto>> consumers = new HashMap<>();

    private OnnxGraph(Onnx.ModelProto model, String source) {
        this.source = source;
        this.graph = model.getGraph();
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        for (Onnx.NodeProto node : graph.getNodeList()) {
            for (String out : node.getOutputList()) {
                producers.put(out, node);
            }
            for (String in : node.getInputList()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(node);
                }
            }
        }
    }

    /** Parses a serialized {@code ModelProto} (files above protobuf's default 64 MB limit included). */
    static OnnxGraph read(InputStream in, String source) {
        try {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            Onnx.ModelProto model = Onnx.ModelProto.parseFrom(coded);
            if (model.getGraph().getNodeCount() == 0) {
                throw new CorruptFileException(source + ": not an ONNX model (no graph nodes)");
            }
            return new OnnxGraph(model, source);
        } catch (IOException e) {
            throw new CorruptFileException(source + ": cannot parse the ONNX model: " + e.getMessage(), e);
        }
    }

    /** Indexes a model already in memory. */
    static OnnxGraph of(Onnx.ModelProto model, String source) {
        return new OnnxGraph(model, source);
    }

    String source() {
        return source;
    }

    /** Op type -> number of nodes, sorted by op type. */
    SortedMap<String, Integer> opCounts() {
        SortedMap<String, Integer> counts = new TreeMap<>();
        for (Onnx.NodeProto node : graph.getNodeList()) {
            counts.merge(node.getOpType(), 1, Integer::sum);
        }
        return counts;
    }

    /**
     * @throws UnsupportedModelException naming every op type of the graph outside {@code supported},
     *                                   with its node count and one node name
     */
    void requireOps(Set<String> supported) {
        SortedMap<String, String> unsupported = new TreeMap<>();
        SortedMap<String, Integer> counts = opCounts();
        for (Onnx.NodeProto node : graph.getNodeList()) {
            if (!supported.contains(node.getOpType())) {
                unsupported.putIfAbsent(node.getOpType(), node.getName());
            }
        }
        if (!unsupported.isEmpty()) {
            StringBuilder msg = new StringBuilder(source).append(": unsupported ONNX op");
            msg.append(unsupported.size() > 1 ? "s " : " ");
            boolean first = true;
            for (Map.Entry<String, String> e : unsupported.entrySet()) {
                msg.append(first ? "" : ", ").append(e.getKey()).append(" (").append(counts.get(e.getKey()))
                        .append(" nodes, e.g. '").append(e.getValue()).append("')");
                first = false;
            }
            msg.append("; the BERT reader runs float graphs made of ").append(new TreeSet<>(supported));
            throw new UnsupportedModelException(msg.toString());
        }
    }

    List<String> inputNames() {
        List<String> names = new ArrayList<>();
        for (Onnx.ValueInfoProto v : graph.getInputList()) {
            if (!initializers.containsKey(v.getName())) {
                names.add(v.getName());
            }
        }
        return names;
    }

    List<String> outputNames() {
        List<String> names = new ArrayList<>();
        graph.getOutputList().forEach(v -> names.add(v.getName()));
        return names;
    }

    /** The graph's nodes in file order. */
    List<Onnx.NodeProto> nodes() {
        return graph.getNodeList();
    }

    /** The ONNX data type code of an initializer or constant (1 FLOAT, 2 UINT8, 3 INT8, 7 INT64...). */
    int dataType(String tensor) {
        return tensor(tensor).getDataType();
    }

    /** Number of elements of an initializer or constant. */
    long elements(String tensor) {
        return elementCount(tensor(tensor), tensor);
    }

    /** The node that outputs {@code tensor}, or null for graph inputs and initializers. */
    Onnx.NodeProto producer(String tensor) {
        return producers.get(tensor);
    }

    /** The nodes that read {@code tensor}, in graph order. */
    List<Onnx.NodeProto> consumers(String tensor) {
        return Collections.unmodifiableList(consumers.getOrDefault(tensor, List.of()));
    }

    boolean isInitializer(String tensor) {
        return initializers.containsKey(tensor);
    }

    /** True when {@code tensor} is an initializer or the output of a {@code Constant} node. */
    boolean isConstant(String tensor) {
        if (initializers.containsKey(tensor)) {
            return true;
        }
        Onnx.NodeProto p = producers.get(tensor);
        return p != null && p.getOpType().equals("Constant");
    }

    /** Dimensions of an initializer or constant. */
    long[] dims(String tensor) {
        Onnx.TensorProto t = tensor(tensor);
        long[] dims = new long[t.getDimsCount()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = t.getDims(i);
        }
        return dims;
    }

    /** Values of a FLOAT initializer or constant, row-major. */
    float[] floats(String tensor) {
        Onnx.TensorProto t = tensor(tensor);
        requireType(t, tensor, FLOAT);
        int n = elementCount(t, tensor);
        float[] values = new float[n];
        if (!t.getRawData().isEmpty()) {
            checkRawSize(t, tensor, n, Float.BYTES);
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        } else {
            checkFieldSize(tensor, t.getFloatDataCount(), n);
            for (int i = 0; i < n; i++) {
                values[i] = t.getFloatData(i);
            }
        }
        return values;
    }

    /** Values of an INT64 initializer or constant, row-major. */
    long[] longs(String tensor) {
        Onnx.TensorProto t = tensor(tensor);
        requireType(t, tensor, INT64);
        int n = elementCount(t, tensor);
        long[] values = new long[n];
        if (!t.getRawData().isEmpty()) {
            checkRawSize(t, tensor, n, Long.BYTES);
            ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            raw.asLongBuffer().get(values);
        } else {
            checkFieldSize(tensor, t.getInt64DataCount(), n);
            for (int i = 0; i < n; i++) {
                values[i] = t.getInt64Data(i);
            }
        }
        return values;
    }

    /** The single value of a one-element FLOAT constant. */
    float scalar(String tensor) {
        float[] v = floats(tensor);
        if (v.length != 1) {
            throw new UnsupportedModelException(source + ": tensor '" + tensor + "' should be a scalar, has "
                    + v.length + " values");
        }
        return v[0];
    }

    private Onnx.TensorProto tensor(String name) {
        Onnx.TensorProto t = initializers.get(name);
        if (t == null) {
            Onnx.NodeProto p = producers.get(name);
            if (p != null && p.getOpType().equals("Constant")) {
                for (Onnx.AttributeProto a : p.getAttributeList()) {
                    if (a.getName().equals("value")) {
                        t = a.getT();
                    }
                }
                if (t == null) {
                    throw new UnsupportedModelException(source + ": Constant node '" + p.getName()
                            + "' has no tensor 'value' attribute (only that form is supported)");
                }
            }
        }
        if (t == null) {
            throw new UnsupportedModelException(source + ": tensor '" + name
                    + "' should be an initializer or a Constant output, but is computed at run time");
        }
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
            throw new UnsupportedModelException(source + ": tensor '" + name
                    + "' is stored in an external data file; only self-contained .onnx files are read");
        }
        return t;
    }

    private void requireType(Onnx.TensorProto t, String name, int type) {
        if (t.getDataType() != type) {
            throw new UnsupportedModelException(source + ": tensor '" + name + "' has ONNX data type "
                    + t.getDataType() + ", expected " + (type == FLOAT ? "FLOAT (1)" : "INT64 (7)"));
        }
    }

    private int elementCount(Onnx.TensorProto t, String name) {
        long n = 1;
        for (long d : t.getDimsList()) {
            if (d < 0) {
                throw new CorruptFileException(source + ": tensor '" + name + "' has a negative dimension " + d);
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new UnsupportedModelException(source + ": tensor '" + name + "' has more than 2^31 elements");
            }
        }
        return (int) n;
    }

    private void checkRawSize(Onnx.TensorProto t, String name, int n, int bytesPerValue) {
        if (t.getRawData().size() != (long) n * bytesPerValue) {
            throw new CorruptFileException(source + ": tensor '" + name + "' has " + t.getRawData().size()
                    + " bytes of raw data, its shape " + t.getDimsList() + " needs " + (long) n * bytesPerValue);
        }
    }

    private void checkFieldSize(String name, int count, int n) {
        if (count != n) {
            throw new CorruptFileException(source + ": tensor '" + name + "' holds " + count
                    + " values, its shape needs " + n);
        }
    }
}
