package dev.sixpd.nn.cli;

import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.CheckpointException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;

/**
 * The {@code sixpd} command line: {@code train}, {@code sample}, ... Each subcommand has {@code --help}.
 *
 * <p>Errors a user can fix (bad option values, missing or too-short data, unknown preset, a corrupt checkpoint) end
 * with one line on stderr that names the problem and what to do, and exit code 2; no stack trace. Anything else
 * is a bug and prints its stack trace (exit code 1).
 */
@Command(name = "sixpd", mixinStandardHelpOptions = true, version = "sixpd 0.1.0",
        description = "Train tiny GPTs on the CPU and count every FLOP.",
        subcommands = {TrainCommand.class, SampleCommand.class, PrecisionCommand.class, FormatsCommand.class,
                PlanCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Exit code for errors the user can fix. */
    public static final int USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        int code = execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        System.exit(code);
    }

    /** Runs the command line with the given streams and returns the exit code (tests call this). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            String msg = userMessage(ex);
            if (msg == null) {
                throw ex;
            }
            line.getErr().println("sixpd: " + msg);
            line.getErr().flush();
            return USAGE;
        });
        return cl.execute(args);
    }

    /** The one-line message for an error the user can fix, or null if {@code ex} is a bug. */
    static String userMessage(Throwable ex) {
        if (ex instanceof UserException || ex instanceof CheckpointException
                || ex instanceof IllegalArgumentException) {
            return ex.getMessage();
        }
        if (ex instanceof UncheckedIOException u) {
            return userMessage(u.getCause());
        }
        if (ex instanceof NoSuchFileException n) {
            return "no such file: " + n.getFile();
        }
        if (ex instanceof IOException io) {
            return "I/O error: " + io.getMessage();
        }
        return null;
    }
}
