package org.quant4j.cli;

import java.io.PrintStream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** One {@code quant4j} subcommand: its options and what it does. */
interface Command {
    String name();

    /** One line for the command list of {@code quant4j --help}. */
    String summary();

    /** Positional arguments as shown in the usage line, e.g. {@code "FILE"}; empty for none. */
    default String arguments() {
        return "";
    }

    Options options();

    /**
     * Runs the command.
     *
     * @return the exit code (0 on success)
     * @throws UsageException for wrong or missing arguments (exit code 2)
     */
    int run(CommandLine cmd, PrintStream out) throws Exception;
}
