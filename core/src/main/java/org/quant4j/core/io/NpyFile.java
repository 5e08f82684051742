package org.quant4j.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.quant4j.core.Half;
import org.quant4j.core.QuantizationException;

/**
 * Reads and writes NumPy {@code .npy} arrays (format versions 1.0, 2.0 and 3.0) as float32.
 * Accepted dtypes: little/big-endian float16, float32, float64 ({@code <f2 <f4 <f8 >f4 ...});
 * Fortran-ordered arrays are reordered to row-major. Anything else is refused with a message
 * naming the file and the field.
 *
 * @see <a href="https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html">numpy.lib.format</a>
 */
public final class NpyFile {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern STRUCTURED = Pattern.compile("'descr'\\s*:\\s*\\[");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** A float32 array and its shape (row-major). */
    public record Array(long[] shape, float[] data) {
        public long size() {
            return data.length;
        }
    }

    private NpyFile() {}

    public static Array read(Path file) throws IOException {
        InputFiles.requireNotDirectory(file, "a .npy file");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new QuantizationException(file + ": no such file");
        }
        return parse(file.toString(), bytes);
    }

    /** Parses a whole file; problems name it, with the header's control characters escaped. */
    static Array parse(String name, byte[] bytes) {
        try {
            return parseUnescaped(name, bytes);
        } catch (QuantizationException e) {
            throw new QuantizationException(PrintableText.escape(e.getMessage()), e);
        }
    }

    private static Array parseUnescaped(String name, byte[] bytes) {
        if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
            throw new QuantizationException(name + ": not a .npy file (missing the \\x93NUMPY magic)");
        }
        int major = bytes[6];
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = b.getShort(8) & 0xFFFF;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) {
                throw new QuantizationException(name + ": truncated .npy header");
            }
            headerLen = b.getInt(8);
            headerStart = 12;
        } else {
            throw new QuantizationException(name + ": unsupported .npy format version " + major + " (1, 2 and 3 are read)");
        }
        if (headerLen < 0 || headerStart + (long) headerLen > bytes.length) {
            throw new QuantizationException(name + ": truncated .npy header (" + headerLen + " bytes announced)");
        }
        String header = new String(bytes, headerStart, headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        if (STRUCTURED.matcher(header).find()) {
            throw new QuantizationException(name + ": a structured dtype (a record of named fields) is not supported;"
                    + " save one plain float array per tensor (e.g. np.save(f, arr['field'].astype(np.float32)))");
        }
        String descr = field(name, header, DESCR, "descr");
        boolean fortran = field(name, header, FORTRAN, "fortran_order").equals("True");
        long[] shape = parseShape(name, field(name, header, SHAPE, "shape"));

        ByteOrder order = switch (descr.charAt(0)) {
            case '<', '|' -> ByteOrder.LITTLE_ENDIAN;
            case '>' -> ByteOrder.BIG_ENDIAN;
            default -> throw new QuantizationException(name + ": dtype '" + descr + "' has no byte order; expected e.g. '<f4'");
        };
        String kind = descr.substring(1);
        int width = switch (kind) {
            case "f2" -> 2;
            case "f4" -> 4;
            case "f8" -> 8;
            default -> throw new QuantizationException(name + ": dtype '" + descr
                    + "' is not supported; save the array as float16/32/64 (e.g. arr.astype(np.float32))");
        };
        long n = elementCount(name, shape);
        int dataStart = headerStart + headerLen;
        long need = n * width; // elementCount keeps n·8 below Long.MAX_VALUE
        if (bytes.length - dataStart != need) {
            throw new QuantizationException(name + ": shape " + Arrays.toString(shape) + " of " + descr + " needs " + need
                    + " data bytes, the file has " + (bytes.length - dataStart)
                    + (bytes.length - dataStart < need ? " (truncated)" : " (trailing bytes)"));
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new QuantizationException(name + ": " + n + " elements is more than one Java array holds");
        }
        float[] data = new float[(int) n];
        ByteBuffer d = ByteBuffer.wrap(bytes, dataStart, (int) need).slice().order(order);
        switch (width) {
            case 2 -> {
                for (int i = 0; i < n; i++) data[i] = Half.toFloat(d.getShort(2 * i) & 0xFFFF);
            }
            case 4 -> d.asFloatBuffer().get(data);
            default -> {
                for (int i = 0; i < n; i++) data[i] = (float) d.getDouble(8 * i);
            }
        }
        return new Array(shape, fortran ? toRowMajor(data, shape) : data);
    }

    /** Elements of a shape; one whose product is beyond any file's size is refused without overflowing. */
    private static long elementCount(String name, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = d == 0 || n == 0 ? 0 : n > Long.MAX_VALUE / 8 / d ? -1 : n * d;
            if (n < 0) {
                throw new QuantizationException(name + ": .npy shape " + Arrays.toString(shape)
                        + " has more elements than any file can hold (corrupt header)");
            }
        }
        return n;
    }

    private static String field(String name, String header, Pattern p, String key) {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new QuantizationException(name + ": .npy header has no '" + key + "' field: " + header.trim());
        }
        return m.group(1).trim();
    }

    private static long[] parseShape(String name, String text) {
        List<Long> dims = new ArrayList<>();
        for (String part : text.split(",")) {
            String t = part.trim();
            if (t.isEmpty()) {
                continue;
            }
            try {
                long v = Long.parseLong(t.endsWith("L") ? t.substring(0, t.length() - 1) : t);
                if (v < 0) {
                    throw new NumberFormatException();
                }
                dims.add(v);
            } catch (NumberFormatException e) {
                throw new QuantizationException(name + ": bad dimension '" + t + "' in .npy shape (" + text + ")");
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** Reorders a column-major (Fortran) array of the given shape to row-major. */
    private static float[] toRowMajor(float[] f, long[] shape) {
        int rank = shape.length;
        float[] out = new float[f.length];
        int[] idx = new int[rank];
        for (int c = 0; c < f.length; c++) {
            // c is the row-major position of idx; compute its column-major position
            int pos = 0;
            int stride = 1;
            for (int k = 0; k < rank; k++) {
                pos += idx[k] * stride;
                stride *= (int) shape[k];
            }
            out[c] = f[pos];
            for (int k = rank - 1; k >= 0; k--) {
                if (++idx[k] < shape[k]) {
                    break;
                }
                idx[k] = 0;
            }
        }
        return out;
    }

    /** Writes a little-endian float32, row-major, version 1.0 .npy file. */
    public static void write(Path file, long[] shape, float[] data) throws IOException {
        StringBuilder s = new StringBuilder("(");
        for (long d : shape) {
            s.append(d).append(", ");
        }
        if (shape.length > 1) {
            s.setLength(s.length() - 2);
        } else if (shape.length == 1) {
            s.setLength(s.length() - 1);
        }
        s.append(')');
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + s + ", }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer out = ByteBuffer.allocate(10 + header.length() + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        out.put(header.getBytes(StandardCharsets.ISO_8859_1));
        out.asFloatBuffer().put(data);
        Files.write(file, out.array());
    }
}
