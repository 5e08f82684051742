package org.quant4j.eval.qat;

import java.util.Arrays;
import org.quant4j.core.Granularity;
import org.quant4j.core.QuantSpec;

/**
 * The weight widths of the QAT example, all per output channel: symmetric integers of 8, 4 and 2 bits
 * (core's grid {@code [-2^(b-1), 2^(b-1)-1]}) and ternary {-1, 0, +1} times a scale (1.6 bits stored; threshold and
 * scale from {@link QatRunSettings#ternaryScale()}: TWN or BitNet b1.58's absmean).
 */
public enum WeightWidth {
    INT8("int8"),
    INT4("int4"),
    INT2("int2"),
    TERNARY("ternary");

    private final String cliName;

    WeightWidth(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** The per-channel weight spec. */
    public QuantSpec spec() {
        return switch (this) {
            case INT8 -> QuantSpec.integer(8, true, Granularity.perChannel());
            case INT4 -> QuantSpec.integer(4, true, Granularity.perChannel());
            case INT2 -> QuantSpec.integer(2, true, Granularity.perChannel());
            case TERNARY -> QuantSpec.ternary().toBuilder().perChannel().build();
        };
    }

    /** The width called {@code name}, or null. */
    public static WeightWidth byCliName(String name) {
        return Arrays.stream(values()).filter(w -> w.cliName.equals(name)).findFirst().orElse(null);
    }

    public static String cliNames() {
        return String.join(", ", Arrays.stream(values()).map(WeightWidth::cliName).toList());
    }
}
