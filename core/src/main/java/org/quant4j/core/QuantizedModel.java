package org.quant4j.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A quantized model as it is stored: named {@link QuantizedTensor}s, named {@link ClaqTensor}s (CLAQ's per-column
 * codebooks) and named {@link FloatTensor}s that stay in fp32 (biases, norms), each in the order they were added,
 * plus the source model's name and free-form string metadata (method, calibration set...). Tensor names are
 * unique across the three kinds. Immutable;
 * built with {@link #builder()}; written and read by {@code org.quant4j.core.io.ModelFileWriter} / {@code ModelFileReader}.
 *
 * <pre>{@code
 * QuantizedModel model = QuantizedModel.builder().sourceModel("all-MiniLM-L6-v2")
 *         .metadata("method", "gptq").addQuantized("layer0.q.weight", q).addFloat("layer0.q.bias", bias).build();
 * }</pre>
 */
public final class QuantizedModel {
    private final String sourceModel;
    private final SortedMap<String, String> metadata;
    private final Map<String, QuantizedTensor> quantized;
    private final Map<String, ClaqTensor> claq;
    private final Map<String, FloatTensor> floats;

    private QuantizedModel(Builder b) {
        this.sourceModel = b.sourceModel;
        this.metadata = Collections.unmodifiableSortedMap(new TreeMap<>(b.metadata));
        this.quantized = Collections.unmodifiableMap(new LinkedHashMap<>(b.quantized));
        this.claq = Collections.unmodifiableMap(new LinkedHashMap<>(b.claq));
        this.floats = Collections.unmodifiableMap(new LinkedHashMap<>(b.floats));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The model this one was quantized from (a name, path or identifier; empty when unknown). */
    public String sourceModel() {
        return sourceModel;
    }

    /** Free-form metadata, sorted by key. */
    public SortedMap<String, String> metadata() {
        return metadata;
    }

    /** The quantized tensors by name, in the order they were added. */
    public Map<String, QuantizedTensor> quantizedTensors() {
        return quantized;
    }

    /** The CLAQ tensors by name, in the order they were added. */
    public Map<String, ClaqTensor> claqTensors() {
        return claq;
    }

    /** The fp32 tensors by name, in the order they were added. */
    public Map<String, FloatTensor> floatTensors() {
        return floats;
    }

    /** Elements of all tensors: quantized, CLAQ and fp32. */
    public long parameterCount() {
        long n = 0;
        for (QuantizedTensor q : quantized.values()) n += q.size();
        for (ClaqTensor c : claq.values()) n += c.size();
        for (FloatTensor f : floats.values()) n += f.size();
        return n;
    }

    /**
     * Bytes the tensors take as stored: packed codes, scales, zero points and global scales of the quantized
     * tensors ({@link QuantizedTensor#storageBytes()}), the parts of the CLAQ tensors ({@link ClaqTensor#storageBytes()})
     * plus 4 bytes per fp32 element. File overhead (manifest, archive headers) is not included.
     */
    public long storedBytes() {
        long bytes = 0;
        for (QuantizedTensor q : quantized.values()) bytes += q.storageBytes();
        for (ClaqTensor c : claq.values()) bytes += c.storageBytes();
        for (FloatTensor f : floats.values()) bytes += 4 * f.size();
        return bytes;
    }

    /** The size of the same tensors all in fp32: 4 bytes per element. */
    public long fp32Bytes() {
        return 4 * parameterCount();
    }

    /** The size of the same tensors all in fp16: 2 bytes per element. */
    public long fp16Bytes() {
        return 2 * parameterCount();
    }

    /** Equal when the source model, metadata and tensors (names, order and bytes) are equal. */
    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedModel m && m.sourceModel.equals(sourceModel) && m.metadata.equals(metadata)
                && new ArrayList<>(m.quantized.entrySet()).equals(new ArrayList<>(quantized.entrySet()))
                && new ArrayList<>(m.claq.entrySet()).equals(new ArrayList<>(claq.entrySet()))
                && new ArrayList<>(m.floats.entrySet()).equals(new ArrayList<>(floats.entrySet()));
    }

    @Override
    public int hashCode() {
        return Objects.hash(sourceModel, metadata, quantized, claq, floats);
    }

    @Override
    public String toString() {
        return "QuantizedModel[" + (sourceModel.isEmpty() ? "" : sourceModel + ", ") + quantized.size()
                + " quantized + " + (claq.isEmpty() ? "" : claq.size() + " CLAQ + ") + floats.size()
                + " fp32 tensors, " + storedBytes() + " bytes]";
    }

    /** Collects tensors in order; a name may be used once across quantized, CLAQ and fp32 tensors. */
    public static final class Builder {
        private String sourceModel = "";
        private final Map<String, String> metadata = new TreeMap<>();
        private final Map<String, QuantizedTensor> quantized = new LinkedHashMap<>();
        private final Map<String, ClaqTensor> claq = new LinkedHashMap<>();
        private final Map<String, FloatTensor> floats = new LinkedHashMap<>();

        private Builder() {}

        public Builder sourceModel(String sourceModel) {
            this.sourceModel = Objects.requireNonNull(sourceModel, "sourceModel");
            return this;
        }

        public Builder metadata(String key, String value) {
            metadata.put(Objects.requireNonNull(key, "metadata key"), Objects.requireNonNull(value, "metadata value"));
            return this;
        }

        public Builder metadata(Map<String, String> entries) {
            entries.forEach(this::metadata);
            return this;
        }

        /** @throws InvalidTensorException when the name is empty or already used */
        public Builder addQuantized(String name, QuantizedTensor tensor) {
            checkNewName(name);
            quantized.put(name, Objects.requireNonNull(tensor, "tensor"));
            return this;
        }

        /** @throws InvalidTensorException when the name is empty or already used */
        public Builder addClaq(String name, ClaqTensor tensor) {
            checkNewName(name);
            claq.put(name, Objects.requireNonNull(tensor, "tensor"));
            return this;
        }

        /** @throws InvalidTensorException when the name is empty or already used */
        public Builder addFloat(String name, FloatTensor tensor) {
            checkNewName(name);
            floats.put(name, Objects.requireNonNull(tensor, "tensor"));
            return this;
        }

        private void checkNewName(String name) {
            if (Objects.requireNonNull(name, "tensor name").isEmpty()) {
                throw new InvalidTensorException("a tensor name must not be empty");
            }
            if (quantized.containsKey(name) || claq.containsKey(name) || floats.containsKey(name)) {
                throw new InvalidTensorException("tensor '" + name + "' is added twice: tensor names must be unique");
            }
        }

        public QuantizedModel build() {
            return new QuantizedModel(this);
        }
    }
}
