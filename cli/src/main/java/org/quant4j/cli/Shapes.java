package org.quant4j.cli;

import java.util.Locale;

/** Formatting of shapes and byte counts for the command-line tables. */
final class Shapes {
    private Shapes() {}

    static String format(long[] shape) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : "x").append(shape[i]);
        }
        return s.length() == 0 ? "scalar" : s.toString();
    }

    /** Bytes with a binary unit: {@code 512 B}, {@code 1.50 KiB}, {@code 23.4 MiB}. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
    }
}
