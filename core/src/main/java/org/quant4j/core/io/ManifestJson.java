package org.quant4j.core.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;

/**
 * {@code manifest.json} to and from a {@link Manifest}. Written with a fixed field order and fixed layout
 * ({@code \n} line ends whatever the platform), so equal manifests give equal bytes. Read strictly: unknown,
 * missing, duplicate or mistyped fields, and a spec that is not in its canonical form, are errors naming the
 * file and the tensor; the format name and version are checked before anything else.
 */
final class ManifestJson {
    private static final String FORMAT = "format";
    private static final String FORMAT_VERSION = "formatVersion";
    private static final String TOOL_VERSION = "toolVersion";
    private static final String SOURCE_MODEL = "sourceModel";
    private static final String METADATA = "metadata";
    private static final String QUANTIZED = "quantizedTensors";
    private static final String CLAQ = "claqTensors";
    private static final String FLOATS = "floatTensors";
    private static final String CLAQ_FORMAT = "claq";
    private static final String BITS_PER_WEIGHT = "bitsPerWeight";
    private static final String OUTLIERS = "outliers";
    private static final String WIDTHS = "widths";
    private static final String CODEBOOKS = "codebooks";
    private static final String OUTLIER_COLUMN_START = "outlierColumnStart";
    private static final String OUTLIER_ROWS = "outlierRows";
    private static final String OUTLIER_VALUES = "outlierValues";
    private static final String NAME = "name";
    private static final String SHAPE = "shape";
    private static final String SPEC = "spec";
    private static final String GLOBAL_SCALE = "globalScale";
    private static final String CODES = "codes";
    private static final String SCALES = "scales";
    private static final String ZEROS = "zeros";
    private static final String GROUP_INDEX = "groupIndex";
    private static final String DATA = "data";
    private static final String ENTRY = "entry";
    private static final String BYTES = "bytes";
    private static final String CRC32 = "crc32";
    private static final String ENCODING = "encoding";
    private static final String BITS = "bits";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final ObjectWriter WRITER = MAPPER.writer(new DefaultPrettyPrinter()
            .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER))
            .withObjectIndenter(new DefaultIndenter("  ", "\n")));

    private ManifestJson() {}

    static byte[] write(Manifest m) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put(FORMAT, ModelFileFormat.FORMAT_NAME);
        root.put(FORMAT_VERSION, ModelFileFormat.versionFor(!m.claq().isEmpty()));
        root.put(TOOL_VERSION, m.toolVersion());
        root.put(SOURCE_MODEL, m.sourceModel());
        ObjectNode metadata = root.putObject(METADATA);
        m.metadata().forEach(metadata::put);
        ArrayNode quantized = root.putArray(QUANTIZED);
        for (Manifest.QuantizedEntry q : m.quantized()) {
            ObjectNode t = quantized.addObject();
            t.put(NAME, q.name());
            writeShape(t.putArray(SHAPE), q.shape());
            t.set(SPEC, specTree(q.spec()));
            t.put(GLOBAL_SCALE, q.globalScale());
            writePart(t.putObject(CODES), q.codes());
            writeArrayPart(t.putObject(SCALES), q.scales());
            if (q.zeros() != null) {
                writeArrayPart(t.putObject(ZEROS), q.zeros());
            }
            if (q.groupIndex() != null) {
                writePart(t.putObject(GROUP_INDEX), q.groupIndex());
            }
        }
        if (!m.claq().isEmpty()) {
            ArrayNode claq = root.putArray(CLAQ);
            for (Manifest.ClaqEntry c : m.claq()) {
                writeClaq(claq.addObject(), c);
            }
        }
        ArrayNode floats = root.putArray(FLOATS);
        for (Manifest.FloatEntry f : m.floats()) {
            ObjectNode t = floats.addObject();
            t.put(NAME, f.name());
            writeShape(t.putArray(SHAPE), f.shape());
            writePart(t.putObject(DATA), f.data());
        }
        try {
            return WRITER.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a JSON tree", e);
        }
    }

    private static void writeClaq(ObjectNode t, Manifest.ClaqEntry c) {
        t.put(NAME, c.name());
        writeShape(t.putArray(SHAPE), c.shape());
        t.put(FORMAT, CLAQ_FORMAT);
        t.put(BITS_PER_WEIGHT, c.bitsPerWeight());
        t.put(OUTLIERS, c.outliers());
        writePart(t.putObject(WIDTHS), c.widths());
        writeArrayPart(t.putObject(CODEBOOKS), c.codebooks());
        writePart(t.putObject(CODES), c.codes());
        if (c.outlierColumnStart() != null) {
            writePart(t.putObject(OUTLIER_COLUMN_START), c.outlierColumnStart());
            writePart(t.putObject(OUTLIER_ROWS), c.outlierRows());
            writeArrayPart(t.putObject(OUTLIER_VALUES), c.outlierValues());
        }
    }

    private static void writeShape(ArrayNode array, long[] shape) {
        for (long d : shape) {
            array.add(d);
        }
    }

    private static void writePart(ObjectNode node, Manifest.Part part) {
        node.put(ENTRY, part.entry());
        node.put(BYTES, part.bytes());
        node.put(CRC32, FileSeal.hex(part.crc32()));
    }

    private static void writeArrayPart(ObjectNode node, Manifest.ArrayPart array) {
        writePart(node, array.part());
        node.put(ENCODING, array.encoding().name());
        node.put(BITS, array.bits());
    }

    private static JsonNode specTree(QuantSpec spec) {
        try {
            return MAPPER.readTree(spec.toJson());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("QuantSpec.toJson gave invalid JSON", e);
        }
    }

    /** Parses and checks the manifest's syntax; {@link ManifestChecks} checks what the values imply. */
    static Manifest read(byte[] json, FileErrors errors) {
        JsonNode tree;
        try {
            tree = MAPPER.readTree(json);
        } catch (JacksonException e) {
            throw errors.corrupt("manifest.json is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw errors.corrupt("manifest.json cannot be parsed: " + e.getMessage(), e);
        }
        Fields root = new Fields(tree, "manifest.json", msg -> errors.corrupt("manifest.json: " + msg));
        int version = checkFormat(root, errors);
        root.allowOnly(version == ModelFileFormat.VERSION_WITHOUT_CLAQ
                ? Set.of(FORMAT, FORMAT_VERSION, TOOL_VERSION, SOURCE_MODEL, METADATA, QUANTIZED, FLOATS)
                : Set.of(FORMAT, FORMAT_VERSION, TOOL_VERSION, SOURCE_MODEL, METADATA, QUANTIZED, CLAQ, FLOATS));
        String toolVersion = root.text(TOOL_VERSION);
        String sourceModel = root.text(SOURCE_MODEL);
        SortedMap<String, String> metadata = new TreeMap<>();
        Fields meta = root.object(METADATA);
        for (Iterator<String> keys = meta.node.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            metadata.put(key, meta.text(key));
        }
        List<Manifest.QuantizedEntry> quantized = new ArrayList<>();
        ArrayNode quantizedArray = root.array(QUANTIZED);
        for (int i = 0; i < quantizedArray.size(); i++) {
            quantized.add(readQuantized(root.element(quantizedArray, QUANTIZED, i), errors));
        }
        List<Manifest.ClaqEntry> claq = new ArrayList<>();
        if (version != ModelFileFormat.VERSION_WITHOUT_CLAQ) {
            ArrayNode claqArray = root.array(CLAQ);
            for (int i = 0; i < claqArray.size(); i++) {
                claq.add(readClaq(root.element(claqArray, CLAQ, i), errors));
            }
        }
        List<Manifest.FloatEntry> floats = new ArrayList<>();
        ArrayNode floatArray = root.array(FLOATS);
        for (int i = 0; i < floatArray.size(); i++) {
            floats.add(readFloat(root.element(floatArray, FLOATS, i), errors));
        }
        return new Manifest(toolVersion, sourceModel, metadata, quantized, claq, floats);
    }

    /** The format version, once the format name is checked and the version is one this reader reads. */
    private static int checkFormat(Fields root, FileErrors errors) {
        JsonNode format = root.node.get(FORMAT);
        if (format == null || !format.isTextual()) {
            throw errors.corrupt("manifest.json has no format name: not a quant4j model file");
        }
        if (!format.textValue().equals(ModelFileFormat.FORMAT_NAME)) {
            throw errors.corrupt("unknown format name '" + format.textValue() + "' in manifest.json (expected '"
                    + ModelFileFormat.FORMAT_NAME + "'): not a quant4j model file");
        }
        JsonNode version = root.node.get(FORMAT_VERSION);
        if (version == null || !version.isIntegralNumber() || !version.canConvertToInt()) {
            throw errors.corrupt("manifest.json has no integer format version (found " + version + ")");
        }
        int v = version.intValue();
        if (v > ModelFileFormat.FORMAT_VERSION) {
            JsonNode tool = root.node.get(TOOL_VERSION);
            throw errors.corrupt("format version " + v + " is newer than this reader supports (version "
                    + ModelFileFormat.FORMAT_VERSION + ")" + (tool != null && tool.isTextual()
                    ? "; it was written by quant4j " + tool.textValue() : "") + ": upgrade quant4j to read it");
        }
        if (v < ModelFileFormat.VERSION_WITHOUT_CLAQ) {
            throw errors.corrupt("unknown format version " + v + " (this reader supports versions "
                    + ModelFileFormat.VERSION_WITHOUT_CLAQ + " to " + ModelFileFormat.FORMAT_VERSION + ")");
        }
        return v;
    }

    private static Manifest.QuantizedEntry readQuantized(Fields t, FileErrors errors) {
        String name = t.text(NAME);
        Fields f = t.withErrors(msg -> errors.corruptTensor(name, "manifest.json: " + msg));
        f.allowOnly(Set.of(NAME, SHAPE, SPEC, GLOBAL_SCALE, CODES, SCALES, ZEROS, GROUP_INDEX));
        long[] shape = f.shape(SHAPE);
        QuantSpec spec = f.spec(SPEC);
        float globalScale = f.finiteFloat(GLOBAL_SCALE);
        Manifest.Part codes = f.object(CODES).part(false);
        Manifest.ArrayPart scales = f.object(SCALES).arrayPart();
        Manifest.ArrayPart zeros = f.node.has(ZEROS) ? f.object(ZEROS).arrayPart() : null;
        Manifest.Part groupIndex = f.node.has(GROUP_INDEX) ? f.object(GROUP_INDEX).part(false) : null;
        return new Manifest.QuantizedEntry(name, shape, spec, globalScale, codes, scales, zeros, groupIndex);
    }

    private static Manifest.ClaqEntry readClaq(Fields t, FileErrors errors) {
        String name = t.text(NAME);
        Fields f = t.withErrors(msg -> errors.corruptTensor(name, "manifest.json: " + msg));
        f.allowOnly(Set.of(NAME, SHAPE, FORMAT, BITS_PER_WEIGHT, OUTLIERS, WIDTHS, CODEBOOKS, CODES,
                OUTLIER_COLUMN_START, OUTLIER_ROWS, OUTLIER_VALUES));
        long[] shape = f.shape(SHAPE);
        String format = f.text(FORMAT);
        if (!format.equals(CLAQ_FORMAT)) {
            throw f.error.apply("a CLAQ tensor has format '" + format + "', expected '" + CLAQ_FORMAT + "'");
        }
        double bitsPerWeight = f.finiteDouble(BITS_PER_WEIGHT);
        long outliers = f.nonNegativeLong(OUTLIERS);
        Manifest.Part widths = f.object(WIDTHS).part(false);
        Manifest.ArrayPart codebooks = f.object(CODEBOOKS).arrayPart();
        Manifest.Part codes = f.object(CODES).part(false);
        Manifest.Part columns = f.node.has(OUTLIER_COLUMN_START) ? f.object(OUTLIER_COLUMN_START).part(false) : null;
        Manifest.Part rows = f.node.has(OUTLIER_ROWS) ? f.object(OUTLIER_ROWS).part(false) : null;
        Manifest.ArrayPart values = f.node.has(OUTLIER_VALUES) ? f.object(OUTLIER_VALUES).arrayPart() : null;
        return new Manifest.ClaqEntry(name, shape, bitsPerWeight, outliers, widths, codebooks, codes, columns, rows,
                values);
    }

    private static Manifest.FloatEntry readFloat(Fields t, FileErrors errors) {
        String name = t.text(NAME);
        Fields f = t.withErrors(msg -> errors.corruptTensor(name, "manifest.json: " + msg));
        f.allowOnly(Set.of(NAME, SHAPE, DATA));
        return new Manifest.FloatEntry(name, f.shape(SHAPE), f.object(DATA).part(false));
    }

    /** Typed, required fields of one JSON object; every problem is reported through {@code error}. */
    private static final class Fields {
        final ObjectNode node;
        private final String where;
        final Function<String, CorruptFileException> error;

        Fields(JsonNode node, String where, Function<String, CorruptFileException> error) {
            if (node == null || !node.isObject()) {
                throw error.apply(where + " is not a JSON object");
            }
            this.node = (ObjectNode) node;
            this.where = where;
            this.error = error;
        }

        Fields withErrors(Function<String, CorruptFileException> other) {
            return new Fields(node, where, other);
        }

        void allowOnly(Set<String> allowed) {
            for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!allowed.contains(name)) {
                    throw error.apply("unexpected field '" + name + "' in " + where);
                }
            }
        }

        private JsonNode require(String field) {
            JsonNode v = node.get(field);
            if (v == null) {
                throw error.apply(where + " has no field '" + field + "'");
            }
            return v;
        }

        String text(String field) {
            JsonNode v = require(field);
            if (!v.isTextual()) {
                throw error.apply("field '" + field + "' of " + where + " is not a string: " + v);
            }
            return v.textValue();
        }

        long nonNegativeLong(String field) {
            JsonNode v = require(field);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw error.apply("field '" + field + "' of " + where + " is not a non-negative integer: " + v);
            }
            return v.longValue();
        }

        float finiteFloat(String field) {
            JsonNode v = require(field);
            float f = v.isNumber() ? Float.parseFloat(v.asText()) : Float.NaN;
            if (!Float.isFinite(f)) {
                throw error.apply("field '" + field + "' of " + where + " is not a finite number: " + v);
            }
            return f;
        }

        double finiteDouble(String field) {
            JsonNode v = require(field);
            double d = v.isNumber() ? Double.parseDouble(v.asText()) : Double.NaN;
            if (!Double.isFinite(d)) {
                throw error.apply("field '" + field + "' of " + where + " is not a finite number: " + v);
            }
            return d;
        }

        long[] shape(String field) {
            JsonNode v = require(field);
            if (!v.isArray()) {
                throw error.apply("field '" + field + "' of " + where + " is not an array: " + v);
            }
            long[] shape = new long[v.size()];
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = v.get(i);
                if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                    throw error.apply("dimension " + i + " of the shape " + v + " is not a non-negative integer");
                }
                shape[i] = d.longValue();
            }
            return shape;
        }

        QuantSpec spec(String field) {
            JsonNode v = require(field);
            QuantSpec spec;
            try {
                spec = QuantSpec.fromJson(v.toString());
            } catch (InvalidSpecException e) {
                throw error.apply("bad quantization spec " + v + ": " + e.getMessage());
            }
            JsonNode canonical = specTree(spec);
            if (!canonical.equals(v)) {
                throw error.apply("quantization spec " + v + " is not in its canonical form " + canonical);
            }
            return spec;
        }

        Fields object(String field) {
            return new Fields(require(field), "'" + field + "'", error);
        }

        ArrayNode array(String field) {
            JsonNode v = require(field);
            if (!v.isArray()) {
                throw error.apply("field '" + field + "' of " + where + " is not an array");
            }
            return (ArrayNode) v;
        }

        Fields element(ArrayNode array, String field, int index) {
            String at = field + "[" + index + "]";
            return new Fields(array.get(index), at, msg -> error.apply(at + ": " + msg));
        }

        Manifest.Part part(boolean encoded) {
            allowOnly(encoded ? Set.of(ENTRY, BYTES, CRC32, ENCODING, BITS) : Set.of(ENTRY, BYTES, CRC32));
            String entry = text(ENTRY);
            if (entry.isEmpty() || entry.equals(ModelFileFormat.MANIFEST_ENTRY)) {
                throw error.apply("field 'entry' of " + where + " names no blob entry: '" + entry + "'");
            }
            String crc = text(CRC32);
            long crc32 = FileSeal.parseHex(crc.getBytes(StandardCharsets.ISO_8859_1));
            if (crc.length() != FileSeal.DIGITS || crc32 < 0) {
                throw error.apply("field 'crc32' of " + where + " is not 8 lowercase hex digits: '" + crc + "'");
            }
            return new Manifest.Part(entry, nonNegativeLong(BYTES), crc32);
        }

        Manifest.ArrayPart arrayPart() {
            Manifest.Part part = part(true);
            String encoding = text(ENCODING);
            NumberEncoding e;
            try {
                e = NumberEncoding.valueOf(encoding);
            } catch (IllegalArgumentException unknown) {
                throw error.apply("unknown number encoding '" + encoding + "' in " + where);
            }
            long bits = nonNegativeLong(BITS);
            if (bits > Integer.MAX_VALUE) {
                throw error.apply("field 'bits' of " + where + " is out of range: " + bits);
            }
            return new Manifest.ArrayPart(part, e, (int) bits);
        }
    }
}
