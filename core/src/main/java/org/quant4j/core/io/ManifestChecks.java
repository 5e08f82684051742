package org.quant4j.core.io;

import java.util.Arrays;
import java.util.HashSet;
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
        checkArray(name, "scales", q.scales(), spec.scaleEncoding(), blocks, what);
        if (spec.symmetric() != (q.zeros() == null)) {
            throw problem(name, spec.symmetric() ? "a symmetric spec (" + spec + ") has no zero points, but some are stored"
                    : "an asymmetric spec (" + spec + ") needs zero points, but none are stored");
        }
        if (q.zeros() != null) {
            checkArray(name, "zeros", q.zeros(), spec.zeroEncoding(), blocks, what);
        }
        if (q.groupIndex() != null) {
            checkGroupIndex(q, cols, what);
        }
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
                                   long count, String what) {
        if (array.encoding() != expected) {
            throw problem(tensor, role + " are stored as " + array.encoding() + " but the spec says " + expected);
        }
        if (array.encoding() == NumberEncoding.UINT ? array.bits() < 1 || array.bits() > 8 : array.bits() < 0) {
            throw problem(tensor, role + " have an invalid bit width " + array.bits() + " for " + array.encoding());
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
