package org.quant4j.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.MissingOptionException;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.io.PrintableText;

/**
 * The {@code quant4j} command line. Exit codes: 0 success, 1 failure (bad input data, I/O), 2 usage error.
 * Errors are one line on stderr: {@code quant4j <command>: error: <what is wrong>}, control characters escaped.
 * Options are matched by their full names only (no prefixes) and given at most once.
 */
public final class Main {
    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;

    private final Map<String, Command> commands = new LinkedHashMap<>();
    private final PrintStream out;
    private final PrintStream err;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
        for (Command c : List.of(new DemoCommand(), new TrainCommand(), new QatCommand(), new PtqCommand(),
                new EvalCommand(), new GenerateCommand(), new QuantizeTensorCommand(), new InspectCommand(), new ExportCommand())) {
            commands.put(c.name(), c);
        }
    }

    public static void main(String[] args) {
        int code = new Main(System.out, System.err).run(args);
        System.out.flush();
        System.exit(code);
    }

    int run(String[] args) {
        if (args.length == 0) {
            printMainHelp(err);
            return USAGE;
        }
        String first = args[0];
        if (first.equals("--help") || first.equals("-h") || first.equals("help")) {
            if (args.length > 1 && commands.containsKey(args[1])) {
                printHelp(commands.get(args[1]), out);
            } else {
                printMainHelp(out);
            }
            return OK;
        }
        if (first.equals("--version")) {
            out.println("quant4j " + Version.get());
            return OK;
        }
        Command command = commands.get(first);
        if (command == null) {
            err.println("quant4j: error: unknown command '" + first + "'; commands: " + String.join(", ", commands.keySet())
                    + " (see quant4j --help)");
            return USAGE;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            printHelp(command, out);
            return OK;
        }
        try {
            CommandLine cmd = DefaultParser.builder().setAllowPartialMatching(false).build().parse(command.options(), rest);
            refuseRepeatedOptions(cmd);
            return command.run(cmd, out);
        } catch (MissingOptionException e) {
            return error(command, "missing required option " + describe(command.options(), e.getMissingOptions())
                    + " (see quant4j " + command.name() + " --help)", USAGE);
        } catch (ParseException | UsageException e) {
            return error(command, e.getMessage() + " (see quant4j " + command.name() + " --help)", USAGE);
        } catch (QuantizationException e) {
            return error(command, e.getMessage(), FAILURE);
        } catch (FileSystemException e) {
            return error(command, describe(e), FAILURE);
        } catch (Exception e) {
            return error(command, e.getClass().getSimpleName() + ": " + e.getMessage(), FAILURE);
        }
    }

    /** Prints the one-line error, control characters (from file names or contents) escaped. */
    private int error(Command command, String message, int code) {
        err.println(PrintableText.escape("quant4j " + command.name() + ": error: " + message));
        return code;
    }

    /** Options are given once: a repeated one is refused rather than one of its values silently winning. */
    private static void refuseRepeatedOptions(CommandLine cmd) {
        Map<String, Option> seen = new HashMap<>();
        for (Option o : cmd.getOptions()) {
            Option first = seen.putIfAbsent(o.getKey(), o);
            if (first != null) {
                String name = o.getLongOpt() != null ? "--" + o.getLongOpt() : "-" + o.getOpt();
                throw new UsageException(name + " is given twice" + (o.hasArg() ? " ('" + first.getValue() + "' and '"
                        + o.getValue() + "')" : "") + "; give it once");
            }
        }
    }

    /** The file and what is wrong with it, without the exception class. */
    private static String describe(FileSystemException e) {
        String reason = e.getReason() != null ? e.getReason()
                : e instanceof NoSuchFileException ? "no such file or directory"
                : e instanceof AccessDeniedException ? "permission denied"
                : e instanceof NotDirectoryException ? "not a directory"
                : e.getClass().getSimpleName();
        return (e.getFile() == null ? "" : e.getFile() + ": ") + reason
                + (e.getOtherFile() == null ? "" : " (" + e.getOtherFile() + ")");
    }

    /** {@code --out} style names of the missing options. */
    private static String describe(Options options, List<?> missing) {
        List<String> names = new java.util.ArrayList<>();
        for (Object m : missing) {
            Option o = options.getOption(String.valueOf(m));
            names.add(o != null && o.getLongOpt() != null ? "--" + o.getLongOpt() : "-" + m);
        }
        return String.join(", ", names);
    }

    private void printMainHelp(PrintStream s) {
        s.println("usage: quant4j <command> [options]    (quant4j <command> --help for its options)");
        s.println();
        s.println("Quantization for DeepLearning4J / ND4J models: QAT, PTQ, formats and export.");
        s.println();
        s.println("commands:");
        for (Command c : commands.values()) {
            s.printf("  %-18s %s%n", c.name(), c.summary());
        }
        s.println();
        s.println("exit codes: 0 ok, 1 failure, 2 usage error");
    }

    private static void printHelp(Command c, PrintStream s) {
        Options options = new Options();
        c.options().getOptions().forEach(options::addOption);
        options.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        PrintWriter pw = new PrintWriter(s);
        HelpFormatter f = new HelpFormatter();
        f.printHelp(pw, 100, "quant4j " + c.name() + " [options] " + c.arguments(), c.summary(), options, 2, 4, "", false);
        pw.flush();
    }
}
