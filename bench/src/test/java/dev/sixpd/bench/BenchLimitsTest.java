package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Issue 15's benchmark cases: bad sizes and counts end with one line and exit code 2 before anything runs. */
class BenchLimitsTest {
    private static void refused(String fragment, String... args) {
        CommandLine cl = BenchMain.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        int code = cl.execute(args);
        String e = err.toString().strip();
        assertEquals(2, code, e);
        assertFalse(e.contains("\n") || e.contains("Exception"), "one line, no stack trace: " + e);
        assertTrue(e.contains(fragment), "'" + fragment + "' missing from: " + e);
    }

    @Test
    void badRepetitionsSizesAndThreadsAreRefused() {
        refused("--reps must be >= 1, got 0", "gemm", "--reps", "0", "--no-openblas");
        refused("--threads must be >= 1, got 0", "gemm", "--threads", "0", "--no-openblas");
        refused("more than a Java array", "gemm", "--size", "100000", "--no-openblas");
        refused("SIXPD_JAVA_OPTS=-Xmx", "gemm", "--size", "40000", "--no-openblas");
        refused("--threads must be >= 1, got 0", "peak", "--threads", "0");
        refused("--reps must be >= 1, got 0", "peak", "--reps", "0");
    }
}
