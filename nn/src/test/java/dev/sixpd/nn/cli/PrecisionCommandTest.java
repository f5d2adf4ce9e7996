package dev.sixpd.nn.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sixpd precision}: help, errors a user can fix, and a tiny run that writes every output file. */
class PrecisionCommandTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void helpNamesEveryOptionAndSaysWhyTheGradientScale() {
        CliRun r = run("precision", "--help");
        assertEquals(0, r.code(), r.err());
        for (String o : new String[]{"--preset", "--data", "--synthetic", "--steps", "--batch", "--lr",
                "--grad-scale", "--round-accumulator", "--seed", "--threads", "--out", "GPT-2"}) {
            assertTrue(r.out().contains(o), o + " missing from help");
        }
        assertTrue(run("--help").out().contains("precision"));
    }

    @Test
    void badValuesEndWithOneLineAndExitCode2() {
        for (String[] args : new String[][]{{"precision", "--grad-scale", "abc"},
            {"precision", "--round-accumulator", "0"}, {"precision", "--steps", "0"},
            {"precision", "--data", "x.txt", "--synthetic", "100"}}) {
            CliRun r = run(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            String e = r.err().strip();
            assertTrue(e.startsWith("sixpd: "), e);
            assertFalse(e.contains("\n") || e.contains("Exception"), e);
        }
    }

    @Test
    void aTinyRunWritesTheTableChartsSummaryAndLogs() throws Exception {
        Path out = dir.resolve("p");
        CliRun r = run("precision", "--preset", "tiny", "--synthetic", "20000", "--steps", "2", "--batch", "2",
                "--eval-windows", "2", "--threads", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        for (String f : new String[]{"table.txt", "summary.json", "loss.png", "grad-histogram.png", "fp32.jsonl",
                "bf16.jsonl", "fp16.jsonl", "fp16-dynamic.jsonl"}) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        assertEquals(4 + 1, Files.readAllLines(out.resolve("table.txt")).stream()
                .filter(l -> l.startsWith("run ") || l.startsWith("fp") || l.startsWith("bf")).count());
    }
}
