package org.orpo4j.cli;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Turns failures into one readable line on stderr: bad usage exits 2 with a pointer to {@code --help}, any other
 * failure exits 1 with the exception's message (which names the file, line or field at fault); the stack trace is
 * printed only with {@code --verbose}.
 */
final class Errors implements IParameterExceptionHandler, IExecutionExceptionHandler {

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println(cmd.getCommandSpec().qualifiedName() + ": " + ex.getMessage() + " (see '"
                + cmd.getCommandSpec().qualifiedName() + " --help')");
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
