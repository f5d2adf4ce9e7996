package dev.sixpd.nn.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A bug is not disguised as the user's error: exit code 1, one line, the stack trace in a file. */
class InternalErrorTest {
    @Test
    void aBugIsReportedAsAnInternalErrorWithItsStackTraceInAFile() throws Exception {
        StringWriter err = new StringWriter();
        int code = Main.report(new IllegalArgumentException("index -1 out of range"), new PrintWriter(err, true));
        assertEquals(Main.INTERNAL, code);
        String e = err.toString().strip();
        assertFalse(e.contains("\n"), e);
        assertTrue(e.startsWith("sixpd: internal error") && e.contains("IllegalArgumentException: index -1"), e);
        Matcher m = Pattern.compile("The stack trace is in (\\S+);").matcher(e);
        assertTrue(m.find(), e);
        Path trace = Path.of(m.group(1));
        assertTrue(Files.readString(trace).contains("InternalErrorTest"), "the trace names where it was thrown");
        Files.delete(trace);
        // the same exception type from option validation is the user's to fix
        IllegalArgumentException validation = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> dev.sixpd.tensor.DType.parse("fp64"));
        assertEquals(Main.USAGE, Main.report(validation, new PrintWriter(err, true)));
        // running out of memory is told as such
        StringWriter oom = new StringWriter();
        assertEquals(Main.USAGE, Main.report(new OutOfMemoryError("Java heap space"), new PrintWriter(oom, true)));
        assertTrue(oom.toString().contains("SIXPD_JAVA_OPTS=-Xmx"), oom.toString());
    }
}
