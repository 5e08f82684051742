package org.quant4j.model.onnx;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx;
import org.nd4j.shade.protobuf.CodedInputStream;
import org.quant4j.core.io.CorruptFileException;

/**
 * An ONNX model opened for rewriting: nodes replaced in place (so the graph stays in topological order),
 * initializers added, replaced or dropped, opset imports added; {@link #build()} gives the new {@code ModelProto}
 * with everything else (inputs, outputs, metadata, other nodes) as it was.
 */
public final class OnnxGraphEditor {
    private final Onnx.ModelProto original;
    private final String source;
    private final List<Onnx.NodeProto> nodes;
    private final Map<String, Onnx.TensorProto> initializers = new LinkedHashMap<>();
    private final Map<String, Long> addedOpsets = new LinkedHashMap<>();
    private final Set<String> names = new HashSet<>();

    public OnnxGraphEditor(Onnx.ModelProto model, String source) {
        this.original = model;
        this.source = source;
        this.nodes = new ArrayList<>(model.getGraph().getNodeList());
        for (Onnx.TensorProto t : model.getGraph().getInitializerList()) {
            initializers.put(t.getName(), t);
            names.add(t.getName());
        }
        for (Onnx.NodeProto n : nodes) {
            names.add(n.getName());
            names.addAll(n.getInputList());
            names.addAll(n.getOutputList());
        }
    }

    /** Parses a serialized model of any size (protobuf's default limit is 64 MB). */
    public static Onnx.ModelProto parse(byte[] onnx, String source) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(new ByteArrayInputStream(onnx));
            in.setSizeLimit(Integer.MAX_VALUE);
            return Onnx.ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new CorruptFileException(source + ": cannot parse the ONNX model: " + e.getMessage(), e);
        }
    }

    public String source() {
        return source;
    }

    /** The nodes that read {@code tensor}, in graph order. */
    public List<Onnx.NodeProto> consumers(String tensor) {
        List<Onnx.NodeProto> found = new ArrayList<>();
        for (Onnx.NodeProto n : nodes) {
            if (n.getInputList().contains(tensor)) {
                found.add(n);
            }
        }
        return found;
    }

    /** The initializer called {@code name}. @throws OnnxExportException if there is none */
    public Onnx.TensorProto initializer(String name) {
        Onnx.TensorProto t = initializers.get(name);
        if (t == null) {
            throw new OnnxExportException(source + ": no initializer '" + name + "' in the graph");
        }
        return t;
    }

    /** The dimensions of the initializer called {@code name}. */
    public long[] dims(String name) {
        return initializer(name).getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** The single node reading {@code tensor} as input {@code index}, of type {@code op}. */
    public Onnx.NodeProto soleConsumer(String tensor, String op, int index) {
        List<Onnx.NodeProto> readers = consumers(tensor);
        if (readers.size() != 1 || !readers.get(0).getOpType().equals(op) || readers.get(0).getInputCount() <= index
                || !readers.get(0).getInput(index).equals(tensor)) {
            throw new OnnxExportException(source + ": initializer '" + tensor + "' should be read by one " + op
                    + " as its input " + index + ", but is read by " + describe(readers));
        }
        return readers.get(0);
    }

    /** Replaces {@code node} by {@code replacement}, in its place. */
    public void replace(Onnx.NodeProto node, List<Onnx.NodeProto> replacement) {
        int at = nodes.indexOf(node);
        if (at < 0) {
            throw new IllegalArgumentException("node '" + node.getName() + "' is not in the graph");
        }
        nodes.remove(at);
        nodes.addAll(at, replacement);
        for (Onnx.NodeProto n : replacement) {
            names.add(n.getName());
            names.addAll(n.getOutputList());
        }
    }

    /** Adds initializers (named with {@link #freshName} or after one); an existing one is a programming error. */
    public void add(List<Onnx.TensorProto> tensors) {
        for (Onnx.TensorProto t : tensors) {
            if (initializers.putIfAbsent(t.getName(), t) != null) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' exists");
            }
            names.add(t.getName());
        }
    }

    /** Drops an initializer no node reads any more. */
    public void removeIfUnused(String name) {
        if (consumers(name).isEmpty()) {
            initializers.remove(name);
        }
    }

    /** Replaces a FLOAT initializer's values, keeping its name and dims. */
    public void setFloats(String name, float[] values) {
        Onnx.TensorProto old = initializer(name);
        long n = 1;
        for (long d : old.getDimsList()) {
            n *= d;
        }
        if (old.getDataType() != OnnxTensors.FLOAT || n != values.length) {
            throw new OnnxExportException(source + ": initializer '" + name + "' is ONNX type " + old.getDataType()
                    + " with " + n + " elements; cannot hold " + values.length + " floats");
        }
        initializers.put(name, OnnxTensors.floats(name, dims(name), values));
    }

    /** A tensor or node name not yet used in the graph, {@code base} itself when free. */
    public String freshName(String base) {
        String name = base;
        for (int i = 1; names.contains(name); i++) {
            name = base + "_" + i;
        }
        names.add(name);
        return name;
    }

    /** Makes the model import {@code domain} at {@code version} (at least). */
    public void requireOpset(String domain, long version) {
        addedOpsets.merge(domain, version, Math::max);
    }

    public Onnx.ModelProto build() {
        Onnx.GraphProto.Builder graph = original.getGraph().toBuilder().clearNode().addAllNode(nodes)
                .clearInitializer().addAllInitializer(initializers.values());
        // Graphs of IR < 4 list initializers among the inputs too: drop the ones removed.
        List<Onnx.ValueInfoProto> inputs = new ArrayList<>();
        for (Onnx.ValueInfoProto v : original.getGraph().getInputList()) {
            if (initializers.containsKey(v.getName()) || !isOriginalInitializer(v.getName())) {
                inputs.add(v);
            }
        }
        graph.clearInput().addAllInput(inputs);
        Onnx.ModelProto.Builder model = original.toBuilder().setGraph(graph);
        for (Map.Entry<String, Long> e : addedOpsets.entrySet()) {
            boolean found = false;
            for (int i = 0; i < model.getOpsetImportCount(); i++) {
                Onnx.OperatorSetIdProto o = model.getOpsetImport(i);
                if (o.getDomain().equals(e.getKey())) {
                    found = true;
                    if (o.getVersion() < e.getValue()) {
                        model.setOpsetImport(i, o.toBuilder().setVersion(e.getValue()));
                    }
                }
            }
            if (!found) {
                model.addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain(e.getKey()).setVersion(e.getValue()));
            }
        }
        return model.build();
    }

    private boolean isOriginalInitializer(String name) {
        for (Onnx.TensorProto t : original.getGraph().getInitializerList()) {
            if (t.getName().equals(name)) {
                return true;
            }
        }
        return false;
    }

    private static String describe(List<Onnx.NodeProto> readers) {
        if (readers.isEmpty()) {
            return "no node";
        }
        List<String> s = new ArrayList<>();
        readers.forEach(n -> s.add(n.getOpType() + " '" + n.getName() + "'"));
        return String.join(", ", s);
    }
}
