package dev.sixpd.nn.cli;

import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.CheckpointException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;

/**
 * The {@code sixpd} command line: {@code train}, {@code sample}, ... Each subcommand has {@code --help}.
 *
 * <p>Errors a user can fix end with one line on stderr that names the problem and what to do, and exit code 2; no
 * stack trace. They are: {@link UserException} (input validation), {@link CheckpointException} (a missing, corrupt
 * or mismatched checkpoint), I/O errors (a missing file, a full disk), running out of heap, and an
 * {@link IllegalArgumentException} thrown by one of the {@link #VALIDATORS} (option and config checks that predate
 * {@code UserException}). Anything else is a bug in sixpd: one line says so and where its stack trace was saved
 * (a file in the temporary directory), exit code 1.
 */
@Command(name = "sixpd", mixinStandardHelpOptions = true, version = "sixpd 0.1.0",
        description = "Train tiny GPTs on the CPU and count every FLOP.",
        subcommands = {TrainCommand.class, FinetuneCommand.class, ExportCommand.class, SampleCommand.class,
                PrecisionCommand.class, FormatsCommand.class, PlanCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Exit code for errors the user can fix. */
    public static final int USAGE = 2;
    /** Exit code for internal errors (bugs). */
    public static final int INTERNAL = 1;

    /**
     * Classes whose {@link IllegalArgumentException}s are input validation (a bad option value, preset, config or
     * dtype name), by the class that threw. Any other IllegalArgumentException is an internal error.
     */
    static final Set<String> VALIDATORS = Set.of("dev.sixpd.nn.train.TrainSettings", "dev.sixpd.nn.GptConfig",
            "dev.sixpd.nn.train.PrecisionExperiment", "dev.sixpd.nn.Sampler", "dev.sixpd.optim.LossScaler",
            "dev.sixpd.tensor.DType",
            "dev.sixpd.nn.data.Tokenizer", "dev.sixpd.nn.data.Corpus", "dev.sixpd.nn.data.Dataset",
            "dev.sixpd.nn.data.MarkovSource", "dev.sixpd.nn.plan.PlanArgs", "dev.sixpd.nn.plan.PlanInput",
            "dev.sixpd.nn.plan.PlanInput$Arch", "dev.sixpd.nn.plan.ArchArgs", "dev.sixpd.nn.plan.Lora",
            "dev.sixpd.nn.plan.StateLayout", "dev.sixpd.nn.plan.Scripts",
            "dev.sixpd.nn.plan.Hardware", "dev.sixpd.nn.plan.Sizes", "dev.sixpd.nn.plan.BytesPerToken",
            "dev.sixpd.nn.plan.Json", "dev.sixpd.nn.data.Json", "dev.sixpd.nn.data.CharTokenizer",
            "dev.sixpd.nn.data.BpeTokenizer", "dev.sixpd.nn.cli.PlanCommand", "dev.sixpd.nn.cli.PrecisionCommand");

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
        cl.setExecutionExceptionHandler((ex, line, parsed) -> report(ex, line.getErr()));
        try {
            return cl.execute(args);
        } catch (RuntimeException | Error e) {
            // picocli hands only Exceptions to the handler: an Error (out of memory, stack overflow) arrives here
            return report(e, err);
        }
    }

    /** Prints the one line for {@code ex} on {@code err} and returns the exit code. */
    static int report(Throwable ex, PrintWriter err) {
        String msg = userMessage(ex);
        if (msg != null) {
            err.println("sixpd: " + msg);
            err.flush();
            return USAGE;
        }
        err.println("sixpd: internal error (a bug in sixpd, not in your input): " + oneLine(ex) + ". "
                + saveTrace(ex));
        err.flush();
        return INTERNAL;
    }

    /** The one-line message for an error the user can fix, or null if {@code ex} is a bug. */
    static String userMessage(Throwable ex) {
        if (ex instanceof UserException || ex instanceof CheckpointException) {
            return ex.getMessage();
        }
        if (ex instanceof IllegalArgumentException && fromValidator(ex)) {
            return ex.getMessage();
        }
        if (ex instanceof OutOfMemoryError) {
            return "out of memory (the JVM may use " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB): use a"
                    + " smaller --batch or model, or give Java more heap, e.g. SIXPD_JAVA_OPTS=-Xmx"
                    + Math.max(2, 2 * (Runtime.getRuntime().maxMemory() >> 30)) + "g";
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

    private static boolean fromValidator(Throwable ex) {
        StackTraceElement[] st = ex.getStackTrace();
        return st.length > 0 && VALIDATORS.contains(st[0].getClassName());
    }

    private static String oneLine(Throwable ex) {
        String m = ex.getMessage();
        return ex.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
    }

    /** Writes {@code ex}'s stack trace to a new file in the temporary directory; returns a sentence naming it. */
    private static String saveTrace(Throwable ex) {
        try {
            Path f = Files.createTempFile("sixpd-internal-error-", ".txt");
            StringWriter sw = new StringWriter();
            ex.printStackTrace(new PrintWriter(sw));
            Files.writeString(f, "sixpd internal error, " + java.time.Instant.now() + ", java "
                    + System.getProperty("java.version") + "\n" + sw);
            return "The stack trace is in " + f + "; please report it with the command line you ran";
        } catch (IOException | RuntimeException e) {
            return "The stack trace could not be saved (" + e + "); please report the command line you ran";
        }
    }
}
