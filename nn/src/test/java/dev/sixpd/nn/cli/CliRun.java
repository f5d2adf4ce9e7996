package dev.sixpd.nn.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

/**
 * One run of {@code sixpd} through {@link Main#execute}, in this JVM: its exit code and what it wrote to the
 * command line's output and error streams (commands that print to {@code System.out} directly — train, finetune, sample — are
 * captured by {@link #withStdout}).
 */
record CliRun(int code, String out, String err) {
    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliRun(code, out.toString(), err.toString());
    }

    /** As {@link #of}, with what the command prints to {@code System.out} as {@link #out}. */
    static CliRun withStdout(String... args) {
        StringWriter err = new StringWriter();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.execute(args, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        } finally {
            System.setOut(old);
        }
        return new CliRun(code, bytes.toString(StandardCharsets.UTF_8), err.toString());
    }
}
