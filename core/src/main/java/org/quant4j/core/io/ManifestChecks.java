package org.quant4j.core.io;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.quant4j.core.BitPacker;
import org.quant4j.core.Format;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;

/**
 * The consistency of a manifest: unique names and entries, and the part lengths a tensor's shape and spec imply.
 * The writer runs these checks on what it is about to write and the reader on what it read, so every file the
 * writer produces reads back. Problems are {@link InvalidTensorException}s naming the tensor.
 */
final class ManifestChecks {
    private ManifestChecks() {}

    static void check(Manifest manifest) {
        Set<String> names = new HashSet<>();
        Set<String> entries = new HashSet<>();
        entries.add(ModelFileFormat.MANIFEST_ENTRY);
        for (Manifest.QuantizedEntry q : manifest.quantized()) {
            checkName(q.name(), names);
            checkEntry(q.name(), q.codes(), entries);
            checkEntry(q.name(), q.scales().part(), entries);
            if (q.zeros() != null) {
                checkEntry(q.name(), q.zeros().part(), entries);
            }
            if (q.groupIndex() != null) {
                checkEntry(q.name(), q.groupIndex(), entries);
            }
            checkQuantized(q);
        }
        for (Manifest.ClaqEntry c : manifest.claq()) {
            checkName(c.name(), names);
            for (Manifest.Part part : parts(c)) {
                checkEntry(c.name(), part, entries);
            }
            checkClaq(c);
        }
        for (Manifest.FloatEntry f : manifest.floats()) {
            checkName(f.name(), names);
            checkEntry(f.name(), f.data(), entries);
            long n = elementCount(f.name(), f.shape());
            if (4 * n > ModelFileFormat.MAX_ENTRY_BYTES) {
                throw problem(f.name(), n + " fp32 values do not fit in one entry (at most "
                        + ModelFileFormat.MAX_ENTRY_BYTES / 4 + ")");
            }
            checkLength(f.name(), "data", f.data(), 4 * n, "shape " + Arrays.toString(f.shape()) + " has " + n
                    + " fp32 values = " + 4 * n + " bytes");
        }
    }

    private static void checkName(String name, Set<String> names) {
        if (name.isEmpty()) {
            throw new InvalidTensorException("a tensor has an empty name");
        }
        if (!names.add(name)) {
            throw new InvalidTensorException("tensor '" + name + "': the name is used twice");
        }
    }

    private static void checkEntry(String tensor, Manifest.Part part, Set<String> entries) {
        if (!entries.add(part.entry())) {
            throw problem(tensor, "zip entry '" + part.entry() + "' is used twice");
        }
    }

    private static void checkQuantized(Manifest.QuantizedEntry q) {
        String name = q.name();
        QuantSpec spec = q.spec();
        long[] shape = q.shape();
        long n = elementCount(name, shape);
        long rows = rows(shape);
        long cols = cols(shape);
        Granularity g = spec.granularity();
        if (g.kind() == Granularity.Kind.GROUP && cols % g.groupSize() != 0) {
            throw problem(name, "group size " + g.groupSize() + " does not divide the row width " + cols
                    + " of shape " + Arrays.toString(shape));
        }
        if (!Float.isFinite(q.globalScale())) {
            throw problem(name, "global scale " + q.globalScale() + " is not finite");
        }
        String what = "shape " + Arrays.toString(shape) + " with " + spec;
        long codeBytes = BitPacker.packedLength(spec.format(), spec.bits(), n);
        checkLength(name, "codes", q.codes(), codeBytes, what + " needs " + codeBytes + " bytes");
        long blocks = blockCount(q);
        checkArray(name, "scales", q.scales(), spec.scaleEncoding(), spec.bits(), blocks, what);
        if (spec.symmetric() != (q.zeros() == null)) {
            throw problem(name, spec.symmetric() ? "a symmetric spec (" + spec + ") has no zero points, but some are stored"
                    : "an asymmetric spec (" + spec + ") needs zero points, but none are stored");
        }
        if (q.zeros() != null) {
            checkArray(name, "zeros", q.zeros(), spec.zeroEncoding(), spec.bits(), blocks, what);
        }
        if (q.groupIndex() != null) {
            checkGroupIndex(q, cols, what);
        }
    }

    /** The parts of a CLAQ tensor that are stored, in file order. */
    static List<Manifest.Part> parts(Manifest.ClaqEntry c) {
        List<Manifest.Part> parts = new ArrayList<>(List.of(c.widths(),
                c.codebooks().part(), c.codes()));
        if (c.outlierColumnStart() != null) parts.add(c.outlierColumnStart());
        if (c.outlierRows() != null) parts.add(c.outlierRows());
        if (c.outlierValues() != null) parts.add(c.outlierValues().part());
        return parts;
    }

    /**
     * What a CLAQ tensor's manifest record alone implies (the lengths of codebooks and codes follow from the widths
     * and are checked on reading): no empty dimension, one width byte per column, FP16 codebooks of 2 to 256
     * centroids per column, 1 to 8 bits of code per element, outlier parts present exactly when there are outliers
     * and sized by the outlier count, and {@code bitsPerWeight} equal to what the stored bytes give.
     */
    private static void checkClaq(Manifest.ClaqEntry c) {
        String name = c.name();
        long[] shape = c.shape();
        long n = elementCount(name, shape);
        if (n == 0) {
            throw problem(name, "CLAQ shape " + Arrays.toString(shape) + " has an empty dimension");
        }
        long rows = rows(shape);
        long cols = cols(shape);
        String what = "shape " + Arrays.toString(shape) + " has " + cols + " columns of " + rows + " rows";
        checkLength(name, "widths", c.widths(), cols, what + ": one width byte each = " + cols + " bytes");
        Manifest.ArrayPart codebooks = c.codebooks();
        if (codebooks.encoding() != NumberEncoding.FP16) {
            throw problem(name, "codebooks are stored as " + codebooks.encoding() + ", CLAQ stores FP16");
        }
        long centroidBytes = codebooks.part().bytes();
        if (centroidBytes % 2 != 0 || centroidBytes < 2 * 2 * cols || centroidBytes > 2 * 256 * cols) {
            throw problem(name, "codebooks take " + centroidBytes + " bytes, but " + what + ": 2 to 256 FP16 "
                    + "centroids each = " + 4 * cols + " to " + 512 * cols + " bytes, an even count");
        }
        long codeBytes = c.codes().bytes();
        long minCodes = cols * BitPacker.packedLength(Format.INT, 1, rows);
        if (codeBytes < minCodes || codeBytes > n) {
            throw problem(name, "codes take " + codeBytes + " bytes, but " + what + " at 1 to 8 bits each = "
                    + minCodes + " to " + n + " bytes");
        }
        checkOutliers(c, n, rows, cols);
        long stored = 0;
        for (Manifest.Part part : parts(c)) stored += part.bytes();
        double bits = stored * 8.0 / n;
        if (Double.compare(c.bitsPerWeight(), bits) != 0) {
            throw problem(name, "bitsPerWeight says " + c.bitsPerWeight() + ", but its parts take " + stored
                    + " bytes for " + n + " weights = " + bits + " bits/weight");
        }
    }

    private static void checkOutliers(Manifest.ClaqEntry c, long n, long rows, long cols) {
        String name = c.name();
        long k = c.outliers();
        if (k > n) {
            throw problem(name, k + " outliers in " + n + " weights");
        }
        boolean stored = c.outlierColumnStart() != null && c.outlierRows() != null && c.outlierValues() != null;
        boolean none = c.outlierColumnStart() == null && c.outlierRows() == null && c.outlierValues() == null;
        if (k == 0 ? !none : !stored) {
            throw problem(name, k == 0 ? "outlier parts are stored for a tensor without outliers"
                    : "the outlier column offsets, rows and values of its " + k + " outliers are not all stored");
        }
        if (k == 0) {
            return;
        }
        int indexBytes = rows <= 1 << 16 ? 2 : 4;
        checkLength(name, "outlier column offsets", c.outlierColumnStart(), 4 * (cols + 1),
                cols + " columns need " + (cols + 1) + " int32 offsets = " + 4 * (cols + 1) + " bytes");
        checkLength(name, "outlier rows", c.outlierRows(), indexBytes * k, k + " outliers in " + rows + " rows need "
                + (indexBytes == 2 ? "a uint16" : "an int32") + " row each = " + indexBytes * k + " bytes");
        if (c.outlierValues().encoding() != NumberEncoding.FP16) {
            throw problem(name, "outlier values are stored as " + c.outlierValues().encoding() + ", CLAQ stores FP16");
        }
        checkLength(name, "outlier values", c.outlierValues().part(), 2 * k,
                k + " outliers need an FP16 value each = " + 2 * k + " bytes");
    }

    /** A group index exists only for INT groups and holds one int32 per column; its values are checked on reading. */
    private static void checkGroupIndex(Manifest.QuantizedEntry q, long cols, String what) {
        QuantSpec spec = q.spec();
        if (spec.format() != Format.INT || spec.granularity().kind() != Granularity.Kind.GROUP) {
            throw problem(q.name(), "a group index is stored, but " + spec
                    + " has no column groups it could reorder (only INT specs with groups have one)");
        }
        checkLength(q.name(), "group index", q.groupIndex(), 4 * cols, what + " has " + cols
                + " columns: one int32 each = " + 4 * cols + " bytes");
    }

    /** Scales (and zero points) of a quantized tensor: one per {@link Granularity} block of its matrix view. */
    static long blockCount(Manifest.QuantizedEntry q) {
        return q.spec().granularity().blockCount(rows(q.shape()), cols(q.shape()));
    }

    /** Rows of the matrix view, as {@code QuantizedTensor} sees it: {@code shape[0]}, or 1 for rank 0 and 1. */
    private static long rows(long[] shape) {
        return shape.length <= 1 ? 1 : shape[0];
    }

    private static long cols(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        long rows = rows(shape);
        return rows == 0 ? 0 : n / rows;
    }

    private static void checkArray(String tensor, String role, Manifest.ArrayPart array, NumberEncoding expected,
                                   int specBits, long count, String what) {
        if (array.encoding() != expected) {
            throw problem(tensor, role + " are stored as " + array.encoding() + " but the spec says " + expected);
        }
        if (array.encoding() == NumberEncoding.UINT ? array.bits() != specBits : array.bits() < 0) {
            throw problem(tensor, role + " have an invalid bit width " + array.bits() + " for " + array.encoding()
                    + (array.encoding() == NumberEncoding.UINT ? " (the spec's grid has " + specBits + " bits)" : ""));
        }
        if (count > Integer.MAX_VALUE) {
            throw problem(tensor, what + " has " + count + " blocks, more than an array holds");
        }
        long bytes = NumberEncodings.byteLength(array.encoding(), array.bits(), (int) count);
        checkLength(tensor, role, array.part(), bytes, what + " has " + count + " blocks: " + count + " "
                + array.encoding() + " " + role + " = " + bytes + " bytes");
    }

    private static void checkLength(String tensor, String role, Manifest.Part part, long expected, String why) {
        if (part.bytes() != expected) {
            throw problem(tensor, role + " take " + part.bytes() + " bytes, but " + why);
        }
    }

    /** Elements of a shape: each dimension {@code >= 0}, the product at most {@link Integer#MAX_VALUE}. */
    private static long elementCount(String tensor, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw problem(tensor, "shape " + Arrays.toString(shape) + " has a negative dimension");
            }
            n = d == 0 ? 0 : n > Integer.MAX_VALUE / d ? Long.MAX_VALUE : n * d;
        }
        if (n > Integer.MAX_VALUE) {
            throw problem(tensor, "shape " + Arrays.toString(shape) + " has more elements than an array holds");
        }
        return n;
    }

    private static InvalidTensorException problem(String tensor, String message) {
        return new InvalidTensorException("tensor '" + tensor + "': " + message);
    }
}
