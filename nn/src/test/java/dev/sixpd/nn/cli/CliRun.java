package dev.sixpd.nn.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * One run of {@code sixpd} through {@link Main#execute}, in this JVM: its exit code and what it wrote to the
 * command line's output and error streams (commands that print to {@code System.out} directly are not captured;
 * see {@code SampleCommandTest}).
 */
record CliRun(int code, String out, String err) {
    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliRun(code, out.toString(), err.toString());
    }
}
