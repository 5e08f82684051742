package org.quant4j.ptq;

import java.util.List;
import java.util.Locale;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.ptq.awq.Awq;
import org.quant4j.ptq.claq.Claq;
import org.quant4j.ptq.claq.ClaqParams;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.hqq.Hqq;
import org.quant4j.ptq.rtn.Rtn;

/**
 * The solvers by name, for the command line and the Java API alike: {@code rtn}, {@code gptq}, {@code hqq},
 * {@code awq}, {@code claq}, each with its reference defaults. Options beyond the defaults are set on the solver's own
 * builder ({@code Gptq.builder()}, {@code Awq.builder()}, {@code new Claq(ClaqParams...)}).
 */
public final class Solvers {
    /** Every registered name, in the order the documentation lists them. */
    public static final List<String> NAMES = List.of("rtn", "gptq", "hqq", "awq", "claq");

    private Solvers() {}

    /**
     * The solver called {@code name} (case-insensitive) with its reference defaults (CLAQ: adaptive precision at 2.5
     * bits).
     *
     * @throws InvalidSpecException naming the registered solvers for an unknown name
     */
    public static WeightSolver create(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "rtn" -> new Rtn();
            case "gptq" -> new Gptq();
            case "hqq" -> new Hqq();
            case "awq" -> new Awq();
            case "claq" -> new Claq(ClaqParams.adaptive(2.5));
            default -> throw new InvalidSpecException("unknown PTQ method '" + name + "'; methods: "
                    + String.join(", ", NAMES));
        };
    }
}
