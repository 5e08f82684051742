package org.quant4j.core.io.gguf;

/**
 * A GGUF tensor info: name, dimensions in ggml order ({@code ne[0]} the innermost, fastest varying,
 * so a row-major {@code [out, in]} matrix has {@code ne = [in, out]}), ggml type, and the offset of its
 * data relative to the start of the data section.
 */
public record GgufTensorInfo(String name, long[] ne, GgmlType type, long offset) {
    public GgufTensorInfo {
        ne = ne.clone();
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    /** The row-major shape: {@code ne} reversed. */
    public long[] shape() {
        long[] s = new long[ne.length];
        for (int i = 0; i < ne.length; i++) s[i] = ne[ne.length - 1 - i];
        return s;
    }

    public long elements() {
        long n = 1;
        for (long d : ne) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteSize() {
        return type.byteSize(elements());
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(ne) + " " + type;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && t.name.equals(name) && java.util.Arrays.equals(t.ne, ne)
                && t.type == type && t.offset == offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + java.util.Arrays.hashCode(ne);
    }
}
