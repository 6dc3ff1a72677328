package org.orpo4j.cli;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Turns failures into one readable line on stderr, {@code orpo4j CMD: error: ...} in both cases: bad usage exits 2
 * with a pointer to {@code --help}, any other failure exits 1 with the exception's message (which names the file, line or field at fault); the stack trace is
 * printed only with {@code --verbose}.
 */
final class Errors implements IParameterExceptionHandler, IExecutionExceptionHandler {

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println(cmd.getCommandSpec().qualifiedName() + ": error: " + mistyped(cmd, args).orElse(ex.getMessage())
                + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
        if (verbose(cmd.getParseResult())) {
            ex.printStackTrace(err);
        }
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
        if (ex instanceof ParameterException pe) { // a value found wrong only while running
            return handleParseException(pe, new String[0]);
        }
        PrintWriter err = cmd.getErr();
        err.println(cmd.getCommandSpec().qualifiedName() + ": error: " + message(ex));
        if (verbose(parseResult)) {
            ex.printStackTrace(err);
        }
        err.flush();
        return cmd.getCommandSpec().exitCodeOnExecutionException();
    }

    /**
     * The first word of {@code args} that names no command or no option of {@code cmd}, with picocli's nearest
     * suggestions: a typo is reported as itself, not as the required option it failed to give.
     */
    static Optional<String> mistyped(CommandLine cmd, String[] args) {
        if (cmd.getCommandSpec().parent() == null) { // no command was recognised
            for (String arg : args) {
                if (!arg.startsWith("-")) {
                    return cmd.getSubcommands().containsKey(arg) ? Optional.empty()
                            : Optional.of("unknown command '" + arg + "'" + suggestion(cmd, arg) + "; the commands are "
                                    + String.join(", ", commands(cmd)));
                }
            }
            return Optional.empty();
        }
        for (String arg : args) {
            if (arg.equals("--")) {
                break;
            }
            String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
            if (name.startsWith("--") && cmd.getCommandSpec().findOption(name) == null) {
                return Optional.of("unknown option '" + name + "'" + suggestion(cmd, name));
            }
        }
        return Optional.empty();
    }

    private static String suggestion(CommandLine cmd, String word) {
        List<String> similar = new UnmatchedArgumentException(cmd, List.of(word)).getSuggestions();
        return similar.isEmpty() ? "" : " (did you mean '" + String.join("' or '", similar.subList(0,
                Math.min(2, similar.size()))) + "'?)";
    }

    private static List<String> commands(CommandLine cmd) {
        return cmd.getSubcommands().keySet().stream().filter(c -> !c.equals("help")).toList();
    }

    /** The exception's own message; a bare exception is named by its type and first informative cause. */
    static String message(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof NoSuchFileException e) {
                return "no such file or folder: " + e.getFile();
            }
            if (t instanceof AccessDeniedException e) {
                return "permission denied: " + e.getFile();
            }
            if (t instanceof FileAlreadyExistsException e) {
                return "already exists: " + e.getFile();
            }
            String m = t.getMessage();
            if (m != null && !m.isBlank()) {
                String firstLine = m.strip().lines().findFirst().orElse(m);
                return t instanceof OutOfMemoryError ? "out of memory (" + firstLine + ")" : firstLine;
            }
        }
        return ex.getClass().getSimpleName();
    }

    private static boolean verbose(ParseResult result) {
        for (ParseResult r = result; r != null; r = r.subcommand()) {
            if (r.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }
}
