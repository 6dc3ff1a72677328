package org.orpo4j.cli;

import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code orpo4j} command line: {@code java -jar target/orpo4j-cli.jar <command> ...}. Exit codes: 0 success,
 * 2 bad usage, 1 failure; errors are one line (stack traces with {@code --verbose}).
 */
@Command(name = "orpo4j", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "ORPO preference fine-tuning of HuggingFace causal LMs on the JVM.",
        subcommands = {TrainCommand.class, EvalCommand.class, GenerateCommand.class, ChatTemplateCommand.class,
                InitCommand.class, MergeCommand.class, DemoCommand.class, EnvCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Print stack traces with errors and debug logs.")
    boolean verbose;

    public static void main(String[] args) {
        LoggingSetup.configure(Arrays.asList(args).contains("--verbose"));
        SignalExit.install("TERM", "INT"); // train puts its own handler over this one while it trains
        System.exit(newCommandLine().execute(args));
    }

    /** The command line with orpo4j's error handling (what {@link #main} runs; tests use it too). */
    public static CommandLine newCommandLine() {
        CommandLine cmd = new CommandLine(new Main());
        Errors errors = new Errors();
        cmd.setParameterExceptionHandler(errors);
        cmd.setExecutionExceptionHandler(errors);
        return cmd;
    }

    /** Without a command there is nothing to do: that is bad usage. */
    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing command: one of train, eval, generate, chat-template, init, merge, demo, env");
    }
}
